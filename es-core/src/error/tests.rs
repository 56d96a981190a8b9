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
    let v = Error::version_conflict(Uuid::nil(), 3).to_string();
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
