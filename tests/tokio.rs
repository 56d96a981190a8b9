//! The async facade (feature `tokio`) on every backend: saves and gets from many tasks, a
//! subscription as a stream (live, in order, under backpressure, stopped by a drop), a dropped
//! save that still records at most once, runners driven from async code, and a clear error
//! outside a runtime.
#![cfg(feature = "tokio")]

mod common;
use common::tutorial;

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use eventsourcing::domain::Root;
use eventsourcing::persistence::Notification;
use eventsourcing::system::{App, MultiThreadedRunner, RunnerFromEnv, SingleThreadedRunner};
use eventsourcing::tokio::{AsyncApp, AsyncRunner, NotificationStream};
use eventsourcing::{Env, Error, Result, Uuid};
use futures_core::Stream;
use tutorial::{Counters, Dog, DogEvent, DogSchool};

const LIMIT: Duration = Duration::from_secs(20);

/// Held by the tests that open streams, so that one test's count of stream threads is not
/// changed by another test's streams starting or ending at the same time.
static STREAMS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn next(stream: &mut NotificationStream) -> Option<Result<Notification>> {
    let item = poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx));
    tokio::time::timeout(LIMIT, item)
        .await
        .expect("the stream yielded nothing")
}

fn school(backend: &common::Backend) -> AsyncApp<DogSchool> {
    let application = backend.app("DogSchool").build().unwrap();
    AsyncApp::from_app(DogSchool::from_application(application).unwrap())
}

fn register(name: &str) -> Root<Dog> {
    Root::create(DogEvent::Registered { name: name.into() })
}

/// Adds `trick` to dog `id`, reloading and retrying on a version conflict.
async fn add_trick(app: &AsyncApp<DogSchool>, id: Uuid, trick: String) -> Result<()> {
    loop {
        let mut dog = app.get::<Dog>(id).await?;
        dog.trigger(DogEvent::TrickAdded {
            trick: trick.clone(),
        });
        match app.save(&mut dog).await {
            Err(Error::VersionConflict { .. }) => continue,
            other => return other.map(drop),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saves_gets_and_streams_from_many_tasks_on_every_backend() {
    let _streams = STREAMS.lock().await;
    for backend in common::backends() {
        let app = school(&backend);
        let mut stream = app.subscribe(None, Vec::new()).await.unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let app = app.clone();
                tokio::spawn(async move {
                    let mut dog = register(&format!("dog{i}"));
                    app.save(&mut dog).await.unwrap();
                    assert!(dog.pending_events().is_empty());
                    dog.id()
                })
            })
            .collect();
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(t.await.unwrap());
        }
        // Concurrent commands on one dog: conflicts retried, no trick lost.
        let one = ids[0];
        let tricks: Vec<_> = (0..8)
            .map(|i| {
                tokio::spawn({
                    let app = app.clone();
                    async move { add_trick(&app, one, format!("t{i}")).await }
                })
            })
            .collect();
        for t in tricks {
            t.await.unwrap().unwrap();
        }
        // The same through `update`: one hop each, conflicts retried inside.
        let updates: Vec<_> = (0..8)
            .map(|i| {
                let app = app.clone();
                tokio::spawn(async move {
                    app.update::<Dog, _, _, eventsourcing::Error>(one, 100, move |dog| {
                        dog.trigger(DogEvent::TrickAdded {
                            trick: format!("u{i}"),
                        });
                        Ok(dog.version())
                    })
                    .await
                })
            })
            .collect();
        for u in updates {
            let (version, recordings) = u.await.unwrap().unwrap();
            assert_eq!(recordings.len(), 1);
            assert_eq!(recordings[0].originator_version, version);
        }
        let refused = app
            .update::<Dog, _, (), Error>(one, 3, |_| Err(Error::programming("refused")))
            .await;
        assert!(refused.unwrap_err().is_programming());
        // The user's own error type comes back as it is; the library's converts into it.
        let own = app
            .update::<Dog, _, (), ShopError>(one, 3, |_| Err(ShopError::TooManyTricks))
            .await;
        assert_eq!(own.unwrap_err(), ShopError::TooManyTricks);
        let missing = app
            .update::<Dog, _, (), ShopError>(Uuid::new_v4(), 3, |_| Ok(()))
            .await;
        assert!(matches!(missing, Err(ShopError::Store(m)) if m.contains("not found")));
        let dog = app.get::<Dog>(one).await.unwrap();
        assert_eq!(
            (dog.tricks.len(), dog.version()),
            (16, 17),
            "{}",
            backend.name
        );
        let unknown = Uuid::new_v4();
        assert!(app.find::<Dog>(unknown).await.unwrap().is_none());
        assert!(app.get::<Dog>(unknown).await.unwrap_err().is_not_found());
        let made = app.get_or(unknown, || register("new")).await.unwrap();
        assert_eq!(made.version(), 1);
        // The stream saw the 32 notifications in id order, and sees what comes later.
        let mut seen = Vec::new();
        for _ in 0..32 {
            seen.push(next(&mut stream).await.unwrap().unwrap().id);
        }
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        app.save(&mut register("late")).await.unwrap();
        let late = next(&mut stream).await.unwrap().unwrap();
        assert_eq!(Some(late.id), app.max_notification_id().await.unwrap());
        let section = app.section("1,10").await.unwrap();
        assert_eq!(section.items.len(), 10, "{}", backend.name);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_waiting_stream_never_blocks_the_runtime() {
    let _streams = STREAMS.lock().await;
    // One worker thread: if waiting for a notification blocked it, the save below could not
    // run and the stream would wait for ever.
    for backend in common::backends() {
        let app = school(&backend);
        let mut stream = app.subscribe(None, Vec::new()).await.unwrap();
        let waiting = tokio::spawn(async move { next(&mut stream).await.map(|n| n.unwrap().id) });
        tokio::task::yield_now().await;
        app.save(&mut register("Fido")).await.unwrap();
        let first = tokio::time::timeout(LIMIT, waiting).await.unwrap().unwrap();
        assert!(first.is_some(), "{}", backend.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_gets_everything_in_order_and_a_dropped_stream_ends_its_thread() {
    let backends = common::backends();
    let backend = backends.iter().find(|b| b.name == "sqlite-file").unwrap();
    let app = school(backend);
    let mut dogs: Vec<Root<Dog>> = (0..2_000).map(|i| register(&format!("d{i}"))).collect();
    let mut all: Vec<&mut dyn eventsourcing::application::Pending> =
        dogs.iter_mut().map(|d| d as _).collect();
    app.save_all(&mut all).await.unwrap();
    let _streams = STREAMS.lock().await;
    // Streams of earlier tests may still be ending; a thread names itself after it starts.
    wait_for_stream_threads(0).await;
    let mut stream = app
        .subscribe_with_capacity(None, Vec::new(), 1)
        .await
        .unwrap();
    wait_for_stream_threads(1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for id in 1..=2_000 {
        assert_eq!(next(&mut stream).await.unwrap().unwrap().id, id);
        if id % 500 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Caught up, the thread waits for new notifications: dropping the stream still ends it.
    drop(stream);
    wait_for_stream_threads(0).await;
}

/// Waits until exactly `count` stream threads run, failing after [`LIMIT`].
async fn wait_for_stream_threads(count: usize) {
    let deadline = std::time::Instant::now() + LIMIT;
    while stream_threads() != count {
        assert!(
            std::time::Instant::now() < deadline,
            "{} stream threads run, expected {count}",
            stream_threads()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The threads of this process named as the streams' threads are.
fn stream_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "es-stream")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_save_records_at_most_once() {
    for backend in common::backends() {
        let app = school(&backend);
        for round in 0..20 {
            let mut dog = register(&format!("r{round}"));
            dog.trigger(DogEvent::TrickAdded {
                trick: "sit".into(),
            });
            // Dropped at once, or after a little of the commit.
            let wait = Duration::from_micros(round * 50);
            let dropped = tokio::time::timeout(wait, app.save(&mut dog)).await;
            if dropped.is_err() {
                assert_eq!(
                    dog.pending_events().len(),
                    2,
                    "a dropped save leaves them pending"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
                match app.save(&mut dog).await {
                    Ok(_) | Err(Error::VersionConflict { .. }) => {}
                    Err(e) => panic!("{}: {}", backend.name, e.report()),
                }
            }
            let stored = app.get::<Dog>(dog.id()).await.unwrap();
            assert_eq!(
                (stored.version(), stored.tricks.len()),
                (2, 1),
                "{}",
                backend.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_runners_from_async_code() {
    for backend in common::backends() {
        let env = Env::new("").with_all(backend.vars.iter().cloned());
        let single = AsyncRunner::new(
            SingleThreadedRunner::builder(tutorial::system().unwrap())
                .env(env.clone())
                .build(),
        );
        let multi = AsyncRunner::new(
            MultiThreadedRunner::builder(tutorial::system().unwrap())
                .env(env)
                .build(),
        );
        run_tutorial(&single, backend.name).await;
        run_tutorial(&multi, backend.name).await;
    }
}

async fn run_tutorial<R: eventsourcing::system::Runner + 'static>(
    runner: &AsyncRunner<R>,
    name: &str,
) {
    runner.start().await.unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let counters = runner.get::<Counters>().unwrap();
    let trick = format!("roll over {}", Uuid::new_v4());
    let id = school.run(|s| s.register_dog("Fido")).await.unwrap();
    let t = trick.clone();
    school.run(move |s| s.add_trick(id, &t)).await.unwrap();
    let last = school.max_notification_id().await.unwrap().unwrap();
    runner
        .wait::<Counters>("DogSchool", last, LIMIT)
        .await
        .unwrap();
    let count = counters.run(move |c| c.get_count(&trick)).await.unwrap();
    assert_eq!(count, 1, "{name}");
    assert!(!runner.health().await.unwrap().is_empty());
    runner.stop().await.unwrap();
}

#[test]
fn outside_a_runtime_a_call_is_a_programming_error() {
    let backends = common::backends();
    let app = school(&backends[0]);
    let mut get = std::pin::pin!(app.get::<Dog>(Uuid::new_v4()));
    match get.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Err(e)) => assert!(e.is_programming(), "{}", e.report()),
        other => panic!("{:?}", other.map(|r| r.map(|d| d.version()))),
    }
}

/// A user's own error type for `AsyncApp::update`.
#[derive(Debug, PartialEq)]
enum ShopError {
    TooManyTricks,
    Store(String),
}

impl From<Error> for ShopError {
    fn from(e: Error) -> Self {
        Self::Store(e.to_string())
    }
}
