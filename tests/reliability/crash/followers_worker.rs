//! The worker of F2 (`followers.rs` describes the test): the system of `Upstream` and the process
//! application `Downstream`, whose policy writes one `Effect` per upstream event, the steps at
//! which a worker aborts itself, and the worker process itself.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use eventsourcing::application::Application;
use eventsourcing::domain::{Aggregate, Event, Root};
use eventsourcing::persistence::ProcessRecorder;
use eventsourcing::persistence::Recorders;
use eventsourcing::postgres::{PostgresConfig, PostgresProcessRecorder};
use eventsourcing::system::{
    App, AppFactory, MultiThreadedRunner, ProcessApplication, Processing, Received,
    SingleThreadedRunner, System, app_factory,
};
use eventsourcing::{Env, Result, app};
use serde::{Deserialize, Serialize};

pub(super) const CHILD: &str = "ES_CRASH_F2_CHILD";
pub(super) const ABORT: &str = "ES_CRASH_F2_ABORT";
pub(super) const LAST: &str = "ES_CRASH_F2_LAST";
pub(super) const RUNNER: &str = "ES_CRASH_F2_RUNNER";
pub(super) const SESSION: &str = "ES_CRASH_F2_SESSION";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Effect {
    pub causation: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum EffectEvent {
    Caused { causation: u64 },
}

impl Event for EffectEvent {
    const PREFIX: &'static str = "Effect";
}

impl Aggregate for Effect {
    type Event = EffectEvent;
    fn apply(&mut self, EffectEvent::Caused { causation }: &EffectEvent) {
        self.causation = *causation;
    }
}

app!(pub(super) struct Upstream);

pub(super) struct Downstream {
    app: Application,
}

impl App for Downstream {
    const NAME: &'static str = "Downstream";
    fn from_application(app: Application) -> Result<Self> {
        static COMMITS: AtomicU64 = AtomicU64::new(0);
        app.add_listener(Arc::new(|_| {
            step("commit", &COMMITS);
            Ok(())
        }));
        Ok(Self { app })
    }
    fn application(&self) -> &Application {
        &self.app
    }
}

impl ProcessApplication for Downstream {
    fn policy(&self, event: &Received<'_>, processing: &mut Processing) -> Result<()> {
        static POLICIES: AtomicU64 = AtomicU64::new(0);
        processing.collect(Root::<Effect>::create(EffectEvent::Caused {
            causation: event.notification.id,
        }));
        step("policy", &POLICIES);
        println!("POLICY");
        Ok(())
    }
}

/// Counts a pass through `name` and aborts the process at the pass `ES_CRASH_F2_ABORT` names.
fn step(name: &str, passes: &AtomicU64) {
    static PLAN: OnceLock<Option<(String, u64)>> = OnceLock::new();
    let plan = PLAN.get_or_init(|| {
        let v = std::env::var(ABORT).ok()?;
        let (step, k) = v.split_once(' ')?;
        Some((step.to_owned(), k.parse().ok()?))
    });
    let pass = passes.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some((step, k)) = plan
        && step == name
        && pass == *k
    {
        std::process::abort();
    }
}

pub(super) fn system() -> System {
    System::builder()
        .pipe::<Upstream, Downstream>()
        .build()
        .unwrap()
}

/// The facade's factory, or on PostgreSQL one whose sessions carry `session` as their
/// `application_name` (the environment cannot set it), so the parent can find them.
fn factory(session: Option<String>) -> AppFactory {
    let Some(session) = session else {
        return app_factory();
    };
    Arc::new(move |env: Env| {
        let mut config = PostgresConfig::from_env(&env)?;
        config.application_name.clone_from(&session);
        config.pool_size = 2;
        let recorder = PostgresProcessRecorder::new(&config, env.name())?;
        Application::new(env, Recorders::new(Arc::new(recorder)))
    })
}

pub(super) fn tracking(r: &dyn ProcessRecorder) -> u64 {
    r.max_tracking_id(Upstream::NAME).unwrap().unwrap_or(0)
}

/// The worker: runs the system until the follower has caught up, then prints `CAUGHT_UP`.
pub(super) fn child() {
    let Ok(vars) = std::env::var(CHILD) else {
        return;
    };
    let pairs = vars
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())));
    let env = Env::new("").with_all(pairs);
    let last: u64 = std::env::var(LAST).unwrap().parse().unwrap();
    let factory = factory(std::env::var(SESSION).ok());
    // The test harness's own line ends here: the worker's lines start on a fresh one.
    println!("\nSTARTING");
    let deadline = Instant::now() + Duration::from_secs(60);
    if std::env::var(RUNNER).unwrap() == "single" {
        // Processes the whole backlog inside `start`.
        let runner = SingleThreadedRunner::new(system(), env, factory);
        runner.start().unwrap();
        let down = runner.get::<Downstream>().unwrap();
        assert_eq!(tracking(down.application().recorder().as_ref()), last);
        runner.stop().unwrap();
    } else {
        let runner = MultiThreadedRunner::new(system(), env, factory);
        runner.start().unwrap();
        let down = runner.get::<Downstream>().unwrap();
        while tracking(down.application().recorder().as_ref()) < last {
            runner.watch_for_errors(Duration::from_millis(20)).unwrap();
            assert!(Instant::now() < deadline, "not caught up");
        }
        runner.stop().unwrap();
    }
    println!("\nCAUGHT_UP");
}
