//! DCB applications: decisions (events with tags) made over consistency boundaries, on a
//! [`DcbRecorder`](crate::persistence::dcb::DcbRecorder). The Python library's
//! `eventsourcing.dcb` domain and application, the Rust way: a [`Decision`] is any serde enum,
//! a command implements [`Decide`] (its boundary, how events fold into its state, what it
//! decides), and [`DcbApplication::execute`] reads, decides and appends under the condition
//! that the boundary did not change, deciding again when it did.
//!
//! | Python (`eventsourcing.dcb`) | here |
//! |---|---|
//! | `Decision`, `InitialDecision` | a variant of a [`Decision`] enum |
//! | `Tagged(tags, decision)` | [`Tagged`] |
//! | `Selector(types, tags)` | [`DcbQueryItem`](crate::persistence::dcb::DcbQueryItem) |
//! | `Perspective.consistency_boundary()` | [`Decide::boundary`] |
//! | `EnduringObject` (boundary `[Selector(tags=[id])]`) | a command whose boundary is its object's tag |
//! | `Group` (the union of its members' boundaries) | a boundary of several items |
//! | `Slice.execute()`, `DCBApplication.do(slice)` | [`Decide::decide`], [`DcbApplication::execute`] |
//! | `DCBRepository.get`, `advance` | [`DcbApplication::state`] |
//! | `IntegrityError` of a failed condition | [`Error::AppendConditionFailed`](crate::Error::AppendConditionFailed), retried |

mod application;
mod decision;

pub use application::{DEFAULT_ATTEMPTS, DcbApplication, Decide, Executed};
pub use decision::{Decision, Tagged};
