//! The proptest runner, configured the kit's way.

use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};

use crate::strategies::{Level, Op, ops};

/// The number of cases each model-based property runs unless `PROPTEST_CASES` says otherwise.
pub const DEFAULT_CASES: u32 = 48;

/// The proptest configuration of the kit: `PROPTEST_CASES` (default [`DEFAULT_CASES`]) cases,
/// failures persisted to `regressions` (an absolute path) and replayed first on every run.
pub fn config(regressions: &'static str) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..Config::default()
    }
}

/// Runs generated operation sequences for `level` through `test`, panicking with the shrunk
/// counterexample on failure.
pub(crate) fn run_ops<F>(level: Level, regressions: &'static str, test: F)
where
    F: Fn(&[Op]) -> Result<(), TestCaseError>,
{
    let mut runner = TestRunner::new(config(regressions));
    match runner.run(&ops(level), |ops| test(&ops)) {
        Ok(()) => {}
        Err(TestError::Fail(why, ops)) => panic!("{why}\nminimal failing operations: {ops:#?}"),
        Err(e) => panic!("{e}"),
    }
}
