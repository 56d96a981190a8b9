//! The proptest runner, configured the kit's way.

use std::path::PathBuf;

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
        Err(TestError::Fail(why, ops)) => panic!("{why}\nminimal failing operations: {ops:#?}"),
        Err(e) => panic!("{e}"),
    }
}
