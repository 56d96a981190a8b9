//! The tutorial's `test()`, for any runner, with waits instead of sleeps.

use std::time::Duration;

use eventsourcing::Result;
use eventsourcing::system::{App, Runner};

use super::{Counters, DogSchool};

const TRICKS: [&str; 3] = ["roll over", "fetch ball", "play dead"];

/// Waits until Counters has processed everything DogSchool has recorded.
fn wait(runner: &impl Runner, school: &DogSchool) -> Result<()> {
    match school.recorder().max_notification_id()? {
        Some(last) => runner.wait::<Counters>(DogSchool::NAME, last, Duration::from_secs(20)),
        None => Ok(()),
    }
}

/// Each trick's count, less its count at the start: a durable store keeps the counts of
/// earlier runs, as the Python tutorial says, so the assertions are about this run.
fn counts(counters: &Counters, start: [u64; 3]) -> Result<[u64; 3]> {
    let mut counts = [0; 3];
    for ((count, trick), start) in counts.iter_mut().zip(TRICKS).zip(start) {
        *count = counters.get_count(trick)?.saturating_sub(start);
    }
    Ok(counts)
}

/// The tutorial's `test()`: registers three dogs, adds tricks, and checks the counts.
///
/// # Panics
///
/// When a count or the dog is wrong, as the tutorial's asserts.
pub fn test(runner: &impl Runner) -> Result<()> {
    runner.start()?;
    let result = (|| {
        let school = runner.get::<DogSchool>()?;
        let counters = runner.get::<Counters>()?;
        let start = counts(&counters, [0; 3])?;

        let dog_id1 = school.register_dog("Billy")?;
        let dog_id2 = school.register_dog("Milly")?;
        let dog_id3 = school.register_dog("Scrappy")?;

        school.add_trick(dog_id1, "roll over")?;
        school.add_trick(dog_id2, "roll over")?;
        school.add_trick(dog_id3, "roll over")?;
        wait(runner, &school)?;
        assert_eq!(counts(&counters, start)?, [3, 0, 0]);

        school.add_trick(dog_id1, "fetch ball")?;
        school.add_trick(dog_id2, "fetch ball")?;
        wait(runner, &school)?;
        assert_eq!(counts(&counters, start)?, [3, 2, 0]);

        school.add_trick(dog_id1, "play dead")?;
        wait(runner, &school)?;
        assert_eq!(counts(&counters, start)?, [3, 2, 1]);

        let dog = school.get_dog(dog_id1)?;
        assert_eq!(dog.name, "Billy");
        assert_eq!(dog.tricks, ["roll over", "fetch ball", "play dead"]);
        Ok(())
    })();
    let stopped = runner.stop();
    result.and(stopped)
}
