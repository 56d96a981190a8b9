//! The lease properties catch leases granted twice, kept for ever, or freed by anyone.

use es_testkit::leases;

use super::flaws::Flaw;
use super::{broken, caught};

#[test]
fn leases_granted_twice_kept_for_ever_or_freed_by_others_are_caught() {
    let shared = broken(Flaw::SharedLease);
    caught(
        "leases::one_holder_renews_and_releases / SharedLease",
        || leases::one_holder_renews_and_releases(&shared),
    );
    caught("leases::racing_acquirers_one_winner / SharedLease", || {
        leases::racing_acquirers_one_winner(&shared)
    });
    caught(
        "leases::an_expired_lease_is_free_for_another / ImmortalLease",
        || leases::an_expired_lease_is_free_for_another(&broken(Flaw::ImmortalLease)),
    );
    caught(
        "leases::one_holder_renews_and_releases / AnyoneReleases",
        || leases::one_holder_renews_and_releases(&broken(Flaw::AnyoneReleases)),
    );
}
