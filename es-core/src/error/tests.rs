//! The error kinds' predicates and messages.

use super::*;

#[test]
fn predicates_classify_kinds() {
    let v = Error::version_conflict(Uuid::nil(), 3);
    assert!(v.is_integrity() && v.is_version_conflict() && !v.is_tracking_conflict());
    let t = Error::tracking_conflict("up", 2);
    assert!(t.is_integrity() && t.is_tracking_conflict() && !t.is_version_conflict());
    let to = Error::Timeout {
        kind: TimeoutKind::Pool,
        waited: Duration::from_secs(1),
    };
    assert!(to.is_timeout() && to.is_operational() && !to.is_integrity());
    assert!(Error::programming("x").is_programming());
    assert!(Error::config("K", "missing").is_config());
}

#[test]
fn messages_name_what_conflicted() {
    let v = Error::version_conflict(Uuid::nil(), 3).report().to_string();
    assert!(v.contains("version 3"), "{v}");
    let t = Error::tracking_conflict("dogschool", 7).to_string();
    assert!(t.contains("dogschool") && t.contains('7'), "{t}");
    let conflict = Error::version_conflict(Uuid::nil(), 1);
    let source = std::error::Error::source(&conflict);
    assert!(
        source
            .and_then(|s| s.downcast_ref::<EventConflict>())
            .is_some()
    );
}

/// A driver error that repeats its cause, as postgres' does.
#[derive(Debug)]
struct Repeats(std::io::Error);

impl std::fmt::Display for Repeats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error communicating with the server: {}", self.0)
    }
}

impl std::error::Error for Repeats {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn display_is_one_level_and_the_report_has_each_cause_once() {
    let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset");
    let inner = Error::Operational {
        source: Box::new(Repeats(io)),
    };
    let outer = Error::Recorded {
        notification_ids: vec![4, 5, 6],
        source: Box::new(Error::Processing {
            application: "Counters".into(),
            leader: "DogSchool".into(),
            notification_id: 5,
            source: Box::new(inner),
        }),
    };
    // Display: this level only, so a reporter walking `source()` prints nothing twice.
    let mut level: Option<&(dyn std::error::Error + 'static)> = Some(&outer);
    let mut texts = Vec::new();
    while let Some(e) = level {
        texts.push(e.to_string());
        level = e.source();
    }
    assert_eq!(
        texts,
        [
            "the events were recorded (notification ids 4 to 6), but what ran after the commit failed",
            "Counters failed to process notification 5 of DogSchool",
            "operational error",
            "error communicating with the server: connection reset",
            "connection reset",
        ]
    );
    // The report: every level once; the driver's repeated cause is dropped.
    assert_eq!(
        outer.report().to_string(),
        "the events were recorded (notification ids 4 to 6), but what ran after the commit \
         failed: Counters failed to process notification 5 of DogSchool: operational error: \
         error communicating with the server: connection reset"
    );
}
