//! Every property the suites' macros expand runs bounded: one that never ends fails, naming
//! itself, after the property deadline instead of hanging the run; one that fails keeps its
//! own message; one that passes passes.

use std::panic::catch_unwind;
use std::time::{Duration, Instant};

use es_testkit::support::set_deadline;
use es_testkit::{bounded, property_deadline};

fn message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn a_property_that_never_ends_fails_at_its_deadline_naming_itself() {
    set_deadline(Duration::from_millis(20));
    let limit = property_deadline();
    assert_eq!(limit, Duration::from_millis(600));
    let started = Instant::now();
    let panic = catch_unwind(|| {
        bounded("never_ends", || {
            std::thread::sleep(Duration::from_secs(3600))
        });
    })
    .unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= limit && took < limit + Duration::from_secs(20),
        "{took:?}"
    );
    let text = message(&panic);
    assert!(
        text.contains("never_ends") && text.contains("still runs"),
        "{text}"
    );

    let panic =
        catch_unwind(|| bounded("fails", || panic!("the property's own words"))).unwrap_err();
    assert_eq!(message(&panic), "the property's own words");
    bounded("passes", || {});
}
