//! What the facade adds to systems and runners: roles and validation, start twice, restart,
//! runners from the environment, and a leader in another process. The backend-generic system
//! behaviour (the tutorial on both runners, catch-up at start, competing follower instances, a
//! poison event) is es-testkit's system suite, which every backend runs.

#[path = "../examples/tutorial/mod.rs"]
mod tutorial;

use std::process::Command;
use std::time::Duration;

use eventsourcing::system::RunnerFromEnv;
use eventsourcing::system::{
    App, MultiThreadedRunner, ProcessApplication, Processing, Received, Runner,
    SingleThreadedRunner, System,
};
use eventsourcing::{ApplicationBuilder, Env, Error, Result, Uuid, app};
use tutorial::{Counters, DogSchool};

app! {
    /// A second process application, for the system's roles and validation.
    struct Strict;
}

impl ProcessApplication for Strict {
    fn policy(&self, _: &Received<'_>, _: &mut Processing) -> Result<()> {
        Ok(())
    }
}

app! {
    /// Another application named "DogSchool".
    struct Impostor as "DogSchool";
}

fn file_env(dir: &tempfile::TempDir) -> Env {
    let db = dir.path().join("system.db").to_string_lossy().into_owned();
    Env::new("").with_all([
        ("PERSISTENCE_MODULE", "sqlite"),
        ("SQLITE_DBNAME", db.as_str()),
    ])
}

fn last_id(school: &DogSchool) -> u64 {
    school
        .application()
        .recorder()
        .max_notification_id()
        .unwrap()
        .unwrap_or(0)
}

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn system_roles_edges_and_validation() {
    let s = tutorial::system().unwrap();
    assert_eq!(s.nodes(), ["DogSchool", "Counters"]);
    assert_eq!(s.edges(), [("DogSchool", "Counters")]);
    assert_eq!(
        (s.leaders(), s.followers(), s.leaders_only()),
        (vec!["DogSchool"], vec!["Counters"], vec!["DogSchool"])
    );
    assert!(s.processors().is_empty() && s.singles().is_empty());
    let dup = System::builder()
        .pipe::<DogSchool, Counters>()
        .pipe::<DogSchool, Counters>()
        .app::<Strict>()
        .app::<DogSchool>()
        .build()
        .unwrap();
    assert_eq!(dup.edges().len(), 1, "duplicate edges are eliminated");
    assert_eq!(dup.singles(), ["Strict"]);
    // A leader added before it is known as a follower is still processed as one.
    let cycle = System::builder()
        .pipe::<Counters, Strict>()
        .pipe::<Strict, Counters>()
        .build()
        .unwrap();
    assert_eq!(
        cycle.edges(),
        [("Counters", "Strict"), ("Strict", "Counters")]
    );
    assert_eq!(cycle.processors(), ["Counters", "Strict"]);
    assert_eq!(cycle.follows("Counters"), ["Strict"]);
    assert_eq!(cycle.leads("Counters"), ["Strict"]);
    // A follower that is not a process application does not compile (see the `System`
    // doctest); two application types with one name are an error.
    let e = System::builder()
        .pipe::<DogSchool, Counters>()
        .app::<Impostor>()
        .build()
        .unwrap_err();
    assert!(
        e.is_programming()
            && e.report()
                .to_string()
                .contains("two different application types are named DogSchool"),
        "{}",
        e.report()
    );
}

#[test]
fn start_twice_get_before_start_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let env = file_env(&dir);
    let single = SingleThreadedRunner::with_env(tutorial::system().unwrap(), env.clone());
    assert!(matches!(
        single.get::<DogSchool>(),
        Err(Error::RunnerNotStarted)
    ));
    single.start().unwrap();
    assert!(matches!(single.start(), Err(Error::RunnerAlreadyStarted)));
    let school = single.get::<DogSchool>().unwrap();
    let dog = school.register_dog("Billy").unwrap();
    school.add_trick(dog, "sit").unwrap();
    single.stop().unwrap();
    single.stop().unwrap();
    single.start().unwrap();
    assert_eq!(
        single.get::<Counters>().unwrap().get_count("sit").unwrap(),
        1,
        "restarted on the same store"
    );
    single.stop().unwrap();

    let multi = MultiThreadedRunner::with_env(tutorial::system().unwrap(), env);
    multi.start().unwrap();
    assert!(matches!(multi.start(), Err(Error::RunnerAlreadyStarted)));
    multi.stop().unwrap();
    multi.start().unwrap();
    let school = multi.get::<DogSchool>().unwrap();
    school.add_trick(dog, "stay").unwrap();
    multi
        .wait::<Counters>(DogSchool::NAME, last_id(&school), WAIT)
        .unwrap();
    assert_eq!(
        multi.get::<Counters>().unwrap().get_count("stay").unwrap(),
        1
    );
    multi.stop().unwrap();
}

const CHILD: &str = "ES_TEST_LEADER_CHILD_ENV";

/// The leader process of `a_leader_in_another_process`: adds tricks through DogSchool only.
#[test]
#[ignore = "worker: started by its parent test with --ignored --exact"]
fn leader_child() {
    let Ok(vars) = std::env::var(CHILD) else {
        return;
    };
    let pairs: Vec<(String, String)> = vars
        .split('\n')
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let app = ApplicationBuilder::new("DogSchool")
        .vars(pairs)
        .build()
        .unwrap();
    let school = DogSchool::from_application(app).unwrap();
    let dog = school.register_dog("Remote").unwrap();
    for trick in ["roll over", "roll over", "play dead"] {
        school.add_trick(dog, trick).unwrap();
    }
}

fn run_with_leader_in_child(label: &str, pairs: Vec<(String, String)>) {
    let env = Env::from_process("").with_all(pairs.clone());
    let runner = MultiThreadedRunner::with_env(tutorial::system().unwrap(), env);
    runner.start().unwrap();
    let vars: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "leader_child", "--test-threads=1"])
        .env(CHILD, vars.join("\n"))
        .status()
        .unwrap();
    assert!(status.success(), "{label}: the leader process failed");
    let school = runner.get::<DogSchool>().unwrap();
    let last = last_id(&school);
    assert_eq!(last, 4, "{label}");
    runner
        .wait::<Counters>(DogSchool::NAME, last, WAIT)
        .unwrap();
    let counters = runner.get::<Counters>().unwrap();
    assert_eq!(
        (
            counters.get_count("roll over").unwrap(),
            counters.get_count("play dead").unwrap()
        ),
        (2, 1),
        "{label}"
    );
    runner.stop().unwrap();
}

#[test]
fn a_leader_in_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db").to_string_lossy().into_owned();
    run_with_leader_in_child(
        "sqlite file",
        vec![
            ("PERSISTENCE_MODULE".into(), "sqlite".into()),
            ("SQLITE_DBNAME".into(), db),
        ],
    );
    if es_testkit::env_or_skip("POSTGRES_DBNAME").is_some() {
        let schema = format!("procs_{}", Uuid::new_v4().simple());
        run_with_leader_in_child(
            "postgres",
            vec![
                ("PERSISTENCE_MODULE".into(), "postgres".into()),
                ("POSTGRES_SCHEMA".into(), schema.clone()),
            ],
        );
        let config =
            eventsourcing::postgres::PostgresConfig::from_env(&Env::from_process("")).unwrap();
        eventsourcing::postgres::drop_postgres_schema(&config, &schema).unwrap();
    }
}

/// Code generic over [`Runner`]: the same function drives both.
fn tricks_counted(runner: &impl Runner) -> u64 {
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let dog = school.register_dog("Generic").unwrap();
    school.add_trick(dog, "generic").unwrap();
    runner
        .wait::<Counters>(DogSchool::NAME, last_id(&school), WAIT)
        .unwrap();
    let count = runner
        .get::<Counters>()
        .unwrap()
        .get_count("generic")
        .unwrap();
    assert_eq!(runner.system().edges(), [("DogSchool", "Counters")]);
    assert_eq!(runner.health().unwrap()[0].lag, 0);
    runner.stop().unwrap();
    count
}

#[test]
fn runner_builders_override_the_environment_and_code_is_generic_over_runners() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("built.db").to_string_lossy().into_owned();
    let single = SingleThreadedRunner::builder(tutorial::system().unwrap())
        .var("PERSISTENCE_MODULE", "sqlite")
        .var("SQLITE_DBNAME", &db)
        .build();
    assert_eq!(tricks_counted(&single), 1);
    // The same file through the other runner: the count of the first run is there.
    let multi = MultiThreadedRunner::builder(tutorial::system().unwrap())
        .vars([
            ("PERSISTENCE_MODULE", "sqlite"),
            ("SQLITE_DBNAME", db.as_str()),
        ])
        .build();
    assert_eq!(tricks_counted(&multi), 2);
    // `env` replaces the process environment; the backend is the in-memory default.
    let fresh = SingleThreadedRunner::builder(tutorial::system().unwrap())
        .env(Env::new(""))
        .build();
    assert_eq!(tricks_counted(&fresh), 1);
}

/// Leases are a multi-threaded runner's: the single-threaded runner refuses them, naming the
/// setting; the multi-threaded one starts with them on every backend, a stand-alone instance
/// holding every edge.
#[test]
fn leases_are_refused_by_the_single_threaded_runner_and_held_alone_by_one_instance() {
    let leased = Env::new("").with("RUNNER_LEASES", "on");
    let single = SingleThreadedRunner::with_env(tutorial::system().unwrap(), leased.clone());
    let e = single.start().unwrap_err();
    assert!(e.is_config(), "{e}");
    assert!(e.to_string().contains("RUNNER_LEASES"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    for env in [leased.clone(), file_env(&dir).with("RUNNER_LEASES", "on")] {
        let multi = MultiThreadedRunner::with_env(tutorial::system().unwrap(), env);
        multi.start().unwrap();
        let health = multi.health().unwrap();
        assert!(
            health
                .iter()
                .all(|h| h.state != eventsourcing::system::EdgeState::StandingBy),
            "{health:?}"
        );
        let school = multi.get::<DogSchool>().unwrap();
        let dog = school.register_dog("Rex").unwrap();
        school.add_trick(dog, "sit").unwrap();
        let last = school.recorder().max_notification_id().unwrap().unwrap();
        multi
            .wait::<Counters>(DogSchool::NAME, last, Duration::from_secs(10))
            .unwrap();
        assert_eq!(
            multi.get::<Counters>().unwrap().get_count("sit").unwrap(),
            1
        );
        multi.stop().unwrap();
    }
}
