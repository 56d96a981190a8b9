//! The proptest runner, configured the kit's way.

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};

use crate::strategies::{Level, Op, ops};

/// The number of cases each model-based property runs unless `PROPTEST_CASES` says otherwise.
pub const DEFAULT_CASES: u32 = 48;

/// Where failing cases of the suite `suite` are saved and replayed from: in the crate that runs
/// the kit, never in the kit's own package (for a backend in another repository that is the
/// cargo registry's read-only copy). `ES_TESTKIT_REGRESSIONS` names the directory; by default it
/// is `tests/proptest-regressions/` of the package under test (`CARGO_MANIFEST_DIR`, which
/// cargo sets when it runs a test), or of the working directory. Commit the files.
pub fn regressions_file(suite: &str) -> PathBuf {
    let dir = match std::env::var_os("ES_TESTKIT_REGRESSIONS") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(PathBuf::new, PathBuf::from)
            .join("tests")
            .join("proptest-regressions"),
    };
    dir.join(format!("{suite}.txt"))
}

/// The proptest configuration of the kit: `PROPTEST_CASES` (default [`DEFAULT_CASES`]) cases,
/// failures of the suite `suite` persisted to [`regressions_file`] and replayed first on every
/// run.
pub fn config(suite: &str) -> Config {
    // proptest keeps the path for the life of the program; one leak per suite and run.
    let path: &'static str = Box::leak(
        regressions_file(suite)
            .to_string_lossy()
            .into_owned()
            .into_boxed_str(),
    );
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        ..Config::default()
    }
}

/// Runs generated operation sequences for `level` through `test`, panicking with the shrunk
/// counterexample on failure.
pub(crate) fn run_ops<F>(level: Level, suite: &str, test: F)
where
    F: Fn(&[Op]) -> Result<(), TestCaseError>,
{
    let mut runner = TestRunner::new(config(suite));
    match runner.run(&ops(level), |ops| test(&ops)) {
        Ok(()) => {}
        Err(TestError::Fail(why, ops)) => panic!("{why}\nminimal failing operations: {ops:?}"),
        Err(e) => panic!("{e}"),
    }
}

/// How long one property may run in all: 30 times [`deadline`](crate::support::deadline)
/// (5 minutes by default; `ES_TESTKIT_DEADLINE` scales it).
pub fn property_deadline() -> Duration {
    crate::support::deadline() * 30
}

/// Runs the property `name` on a thread of its own and fails the test if it is still running
/// after [`property_deadline`] (a wait inside the library under test that never ends, a retry
/// loop), naming it, instead of hanging the whole run and losing the other tests' reports. The
/// property's own panic is the test's. The suites' macros call this for every property.
#[doc(hidden)]
pub fn bounded(name: &str, property: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            property();
            let _ = done.send(());
        });
    let handle = match spawned {
        Ok(handle) => handle,
        Err(e) => panic!("{name}: cannot start its thread: {e}"),
    };
    let limit = property_deadline();
    match finished.recv_timeout(limit) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(RecvTimeoutError::Timeout) => panic!(
            "{name} still runs after {limit:?} (30 x ES_TESTKIT_DEADLINE): something it waits \
             for never happens (a wait or a retry loop of the library under test?); its thread \
             is left running"
        ),
    }
}
