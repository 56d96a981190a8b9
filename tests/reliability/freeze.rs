//! O2: the server stops answering while a system runs. A loopback proxy in front of PostgreSQL
//! keeps every connection open and stops carrying bytes (a hung server, proxy or network path:
//! the kernel still acknowledges, so no TCP timeout fires). Each request fails within its
//! bound: a call on an open connection after `POSTGRES_STATEMENT_TIMEOUT` (1 s here) plus the
//! 1 s margin, as `OutcomeUnknown` when it was a write; a request for a new connection after
//! `POSTGRES_OUTAGE_TIMEOUT` (1 s here), not `POSTGRES_CONNECT_TIMEOUT` (30 s here).
//! `health()` stays readable. When the proxy carries bytes again, the writes it held may
//! commit: the stored registrations are at most the acknowledged ones plus those reported as
//! `OutcomeUnknown`, never more. Each pool logs the silence once when it starts and once when
//! it ends.

use std::thread;
use std::time::{Duration, Instant};

use es_testkit::apps::domain::{Dog, DogSchool, Strict, system};
use eventsourcing::persistence::NotificationQuery;
use eventsourcing::postgres::drop_postgres_schema;
use eventsourcing::system::{MultiThreadedRunner, RunnerFromEnv};
use eventsourcing::{ApplicationBuilder, Env};

use super::proxy::{Proxy, lines_of, pool_log};

#[test]
fn o2_requests_end_within_their_bound_while_the_server_is_silent() {
    let Some(config) = super::postgres("o2") else {
        return;
    };
    pool_log();
    let proxy = Proxy::start(0, config.port);
    let vars = [
        ("PERSISTENCE_MODULE", "postgres".to_owned()),
        ("POSTGRES_PORT", proxy.port.to_string()),
        ("POSTGRES_SCHEMA", config.schema.clone()),
        // The proxy carries plain TCP.
        ("POSTGRES_SSLMODE", "disable".to_owned()),
        ("POSTGRES_CONNECT_TIMEOUT", "30".to_owned()),
        ("POSTGRES_OUTAGE_TIMEOUT", "1".to_owned()),
        ("POSTGRES_STATEMENT_TIMEOUT", "1".to_owned()),
    ];
    // An application of its own beside the system (three pools in all: it, DogSchool and
    // Counters, each logging once at most): its pool's one open connection is the
    // one its next save uses, so that save is surely sent and not answered.
    let alone = ApplicationBuilder::new("o2alone")
        .vars(vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())))
        .build()
        .unwrap();
    alone.save(&mut Dog::register("Alone")).unwrap();
    let runner = MultiThreadedRunner::with_env(system(), Env::from_process("").with_all(vars));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    // Enough registrations that the pool holds several open connections when it freezes.
    let mut acknowledged = 0;
    for name in ["Rex", "Fido", "Bella"] {
        school.register_dog(name).unwrap();
        acknowledged += 1;
    }
    let wait = Duration::from_secs(30);
    runner
        .wait::<Strict>("DogSchool", school.last_id(), wait)
        .unwrap();

    proxy.freeze();
    let started = Instant::now();
    let e = alone.save(&mut Dog::register("Sent")).unwrap_err();
    let sent_took = started.elapsed();
    assert!(e.is_outcome_unknown(), "{}", e.report());
    assert!(
        sent_took >= Duration::from_secs(2),
        "the call waits for its deadline, POSTGRES_STATEMENT_TIMEOUT plus 1 s: {sent_took:?}"
    );
    // A call expires after 2 s; settling a write whose outcome is unknown then takes at most
    // the outage timeout plus one more expired call; 2 s of slack for a loaded machine.
    let bound = Duration::from_secs(2 + 1 + 2 + 2);
    assert!(sent_took < bound, "{sent_took:?}");
    let (mut took, mut unknown) = (Vec::new(), 0);
    for _ in 0..6 {
        let started = Instant::now();
        let e = school.register_dog("Max").unwrap_err();
        took.push(started.elapsed());
        unknown += usize::from(e.is_outcome_unknown());
        assert!(
            e.is_outcome_unknown() || e.is_connect() || e.is_timeout(),
            "a classified error: {}",
            e.report()
        );
        assert!(
            started.elapsed() < bound,
            "failed after {:?}, not within {bound:?}: {}",
            started.elapsed(),
            e.report()
        );
    }
    let started = Instant::now();
    let health = runner.health().expect("health is readable while silent");
    let health_took = started.elapsed();
    eprintln!(
        "O2: a sent write failed after {sent_took:?}, requests after {took:?} ({unknown} \
         OutcomeUnknown); health answered in {health_took:?}: {health:?}"
    );
    assert!(health_took < bound, "health took {health_took:?}");

    proxy.thaw();
    let deadline = Instant::now() + wait;
    loop {
        match school.register_dog("Back") {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                unknown += usize::from(e.is_outcome_unknown());
                thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("no save within {wait:?} of the thaw: {}", e.report()),
        }
    }
    acknowledged += 1;
    // The lone application's pool answers again too (its end line).
    while let Err(e) = alone.save(&mut Dog::register("AloneBack")) {
        assert!(Instant::now() < deadline, "{}", e.report());
        thread::sleep(Duration::from_millis(50));
    }
    runner
        .wait::<Strict>("DogSchool", school.last_id(), wait)
        .unwrap();
    let stored = school
        .recorder()
        .select_notifications(&NotificationQuery::new(1000))
        .unwrap()
        .len();
    assert!(
        (acknowledged..=acknowledged + unknown).contains(&stored),
        "{stored} registrations stored; {acknowledged} acknowledged and {unknown} unknown"
    );
    runner.stop().unwrap();

    let lines = lines_of(proxy.port);
    let starts = lines
        .iter()
        // Not "did not answer" alone: the line of a connection that opened into the silence
        // ("cannot open connections … did not answer within 2s") is the pool's, not a call's.
        .filter(|l| l.contains("did not answer a call"))
        .count();
    let ends = lines
        .iter()
        .filter(|l| l.contains("answers calls again"))
        .count();
    assert!(
        (1..=3).contains(&starts) && ends == starts,
        "{starts} start and {ends} end lines:\n{}",
        lines.join("\n")
    );
    eprintln!(
        "O2: {stored} stored of {acknowledged} acknowledged + {unknown} unknown; {starts} \
         silence lines and {ends} end lines"
    );
    drop_postgres_schema(&config, &config.schema).unwrap();
}
