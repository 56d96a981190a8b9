//! The tutorial as an HTTP service (axum): register a dog, add a trick, get a dog, get a
//! trick's count from the Counters process application, the dogs with the most tricks from a
//! read model (a projection of DogSchool into an in-memory view), and read DogSchool's
//! notification log as the Python library's JSON sections. Shared by `examples/dog_school_http.rs` and the
//! facade's HTTP tests.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /dogs` | `{"name": "Fido"}` | 201 `{"id", "notification_id"}` |
//! | `POST /dogs/{id}/tricks` | `{"trick": "roll over"}` | 200 `{"id", "version", "notification_id"}` |
//! | `GET /dogs/{id}` | | 200 `{"id", "name", "tricks", "version"}` |
//! | `GET /tricks/{trick}/count[?after=N]` | | 200 `{"trick", "count"}`, after Counters processed DogSchool's notification `N` |
//! | `GET /leaderboard[?after=N]` | | 200 `{"dogs": [{"id", "name", "tricks"}]}`, the ten dogs with the most tricks, from the view after it processed notification `N` |
//! | `GET /notifications/{section_id}` | | 200 `{"id", "next_id", "items": [{"id", "originator_id", "originator_version", "topic", "state"}]}` |
//!
//! Errors are `{"error": {"code", "message"}}`: 400 bad input, 404 unknown dog, 409 a version
//! conflict that outlived the retries, 413 a body over 16 KiB, 503 the store unreachable or
//! processing behind, 500 anything else (logged, never echoed).

#![allow(dead_code, missing_docs, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use eventsourcing::application::Section;
use eventsourcing::popo::MemoryView;
use eventsourcing::system::{Projection, Received, Runner};
use eventsourcing::tokio::{AsyncApp, AsyncProjectionRunner, AsyncRunner};
use eventsourcing::{Error, Uuid};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::tutorial::{Counters, Dog, DogEvent, DogSchool};

/// The largest request body.
pub const BODY_LIMIT: usize = 16 * 1024;
/// Attempts at a command whose save meets a version conflict.
pub const RETRIES: usize = 50;
/// The longest `?after=` waits for Counters.
pub const WAIT: Duration = Duration::from_secs(10);
/// The longest name or trick.
pub const MAX_TEXT: usize = 200;

/// The read model: each dog's name and how many tricks it knows.
#[derive(Debug, Clone, Default)]
pub struct Leaderboard {
    dogs: BTreeMap<Uuid, (String, u64)>,
}

/// The projection of DogSchool's events into the [`Leaderboard`].
pub struct TricksPerDog;

impl Projection<MemoryView<Leaderboard>> for TricksPerDog {
    const NAME: &'static str = "tricksperdog";

    fn process(&self, event: &Received<'_>, board: &mut Leaderboard) -> eventsourcing::Result<()> {
        let id = event.notification.originator_id;
        match event.decode::<DogEvent>()? {
            Some(DogEvent::Registered { name }) => {
                board.dogs.insert(id, (name, 0));
            }
            Some(DogEvent::TrickAdded { .. }) => {
                if let Some((_, tricks)) = board.dogs.get_mut(&id) {
                    *tricks += 1;
                }
            }
            None => {}
        }
        Ok(())
    }
}

/// The leaderboard's runner.
pub type Board = AsyncProjectionRunner<MemoryView<Leaderboard>, TricksPerDog>;

/// What the handlers share.
pub struct Service<R> {
    pub runner: AsyncRunner<R>,
    pub school: AsyncApp<DogSchool>,
    pub counters: AsyncApp<Counters>,
    pub board: Board,
}

impl<R> Clone for Service<R> {
    fn clone(&self) -> Self {
        Self {
            runner: self.runner.clone(),
            school: self.school.clone(),
            counters: self.counters.clone(),
            board: self.board.clone(),
        }
    }
}

/// The routes, on a started `runner` of the tutorial's system; starts the leaderboard's
/// projection (which stops when the router is dropped).
pub async fn router<R: Runner + 'static>(runner: AsyncRunner<R>) -> eventsourcing::Result<Router> {
    let school = runner.get::<DogSchool>()?;
    let view = Arc::new(MemoryView::new(Leaderboard::default()));
    let board = AsyncProjectionRunner::start(Arc::clone(school.app()), TricksPerDog, view).await?;
    let service = Service {
        school,
        counters: runner.get::<Counters>()?,
        runner,
        board,
    };
    Ok(Router::new()
        .route("/dogs", post(register::<R>))
        .route("/dogs/{id}", get(dog::<R>))
        .route("/dogs/{id}/tricks", post(add_trick::<R>))
        .route("/tricks/{trick}/count", get(count::<R>))
        .route("/leaderboard", get(leaderboard::<R>))
        .route("/notifications/{section_id}", get(section::<R>))
        .fallback(|| async { failure(StatusCode::NOT_FOUND, "no_route", "no such route") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(service))
}

/// An error answer: a status, a stable code and a fixed message (never the error's text,
/// which is logged instead).
pub struct Failure {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

fn failure(status: StatusCode, code: &'static str, message: &'static str) -> Failure {
    Failure {
        status,
        code,
        message,
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let (status, code, message) = if e.is_not_found() {
            (StatusCode::NOT_FOUND, "not_found", "no such dog")
        } else if e.is_version_conflict() {
            (
                StatusCode::CONFLICT,
                "conflict",
                "the dog changed too often: try again",
            )
        } else if e.is_operational() || e.is_connect() || e.is_outcome_unknown() {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the store is unreachable",
            )
        } else if e.is_timeout() {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "behind",
                "processing is behind: try again",
            )
        } else {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        };
        if status.is_server_error() {
            tracing::warn!(error = %e.report(), %status, "request failed");
        }
        failure(status, code, message)
    }
}

/// A JSON body, or 400 (413 when over the limit) naming only what was wrong in general:
/// serde's text can quote what the client sent.
fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, Failure> {
    match body {
        Ok(Json(value)) => Ok(value),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(failure(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the body is over 16 KiB",
        )),
        Err(_) => Err(failure(
            StatusCode::BAD_REQUEST,
            "bad_json",
            "the body is not the JSON object this route takes",
        )),
    }
}

fn text(value: String, what: &'static str) -> Result<String, Failure> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_TEXT {
        return Err(failure(StatusCode::BAD_REQUEST, "bad_input", what));
    }
    Ok(trimmed.to_owned())
}

fn dog_id(id: Result<Path<String>, PathRejection>) -> Result<Uuid, Failure> {
    let bad = || {
        failure(
            StatusCode::BAD_REQUEST,
            "bad_id",
            "the dog id is not a UUID",
        )
    };
    let Path(id) = id.map_err(|_| bad())?;
    Uuid::parse_str(&id).map_err(|_| bad())
}

#[derive(Deserialize)]
struct Register {
    name: String,
}

async fn register<R: Runner + 'static>(
    State(s): State<Service<R>>,
    json: Result<Json<Register>, JsonRejection>,
) -> Result<Response, Failure> {
    let name = text(body(json)?.name, "the name must be 1 to 200 characters")?;
    let mut dog = eventsourcing::domain::Root::<Dog>::create(DogEvent::Registered { name });
    let recordings = s.school.save(&mut dog).await?;
    let last = recordings.last().map(|r| r.notification_id);
    let answer = json!({"id": dog.id().to_string(), "notification_id": last});
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

#[derive(Deserialize)]
struct AddTrick {
    trick: String,
}

async fn add_trick<R: Runner + 'static>(
    State(s): State<Service<R>>,
    id: Result<Path<String>, PathRejection>,
    json: Result<Json<AddTrick>, JsonRejection>,
) -> Result<Json<Value>, Failure> {
    let id = dog_id(id)?;
    let trick = text(body(json)?.trick, "the trick must be 1 to 200 characters")?;
    let (version, recordings) = s
        .school
        .update::<Dog, _, _, eventsourcing::Error>(id, RETRIES, move |dog| {
            dog.trigger(DogEvent::TrickAdded {
                trick: trick.clone(),
            });
            Ok(dog.version())
        })
        .await?;
    let last = recordings.last().map(|r| r.notification_id);
    let answer = json!({"id": id.to_string(), "version": version, "notification_id": last});
    Ok(Json(answer))
}

async fn dog<R: Runner + 'static>(
    State(s): State<Service<R>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, Failure> {
    let dog = s.school.get::<Dog>(dog_id(id)?).await?;
    Ok(Json(json!({
        "id": dog.id().to_string(),
        "name": dog.name,
        "tricks": dog.tricks,
        "version": dog.version(),
    })))
}

#[derive(Deserialize)]
struct After {
    after: Option<u64>,
}

async fn count<R: Runner + 'static>(
    State(s): State<Service<R>>,
    Path(trick): Path<String>,
    after: Result<Query<After>, QueryRejection>,
) -> Result<Json<Value>, Failure> {
    let Query(After { after }) = after.map_err(|_| {
        failure(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "after must be a number",
        )
    })?;
    let trick = text(trick, "the trick must be 1 to 200 characters")?;
    if let Some(after) = after {
        s.runner.wait::<Counters>("DogSchool", after, WAIT).await?;
    }
    let t = trick.clone();
    let count = s.counters.run(move |c| c.get_count(&t)).await?;
    Ok(Json(json!({"trick": trick, "count": count})))
}

/// The ten dogs with the most tricks (then by name), from the view once it has processed
/// `after`.
async fn leaderboard<R: Runner + 'static>(
    State(s): State<Service<R>>,
    after: Result<Query<After>, QueryRejection>,
) -> Result<Json<Value>, Failure> {
    let Query(After { after }) = after.map_err(|_| {
        failure(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "after must be a number",
        )
    })?;
    if let Some(after) = after {
        s.board.wait(after, WAIT).await?;
    }
    let dogs = s
        .board
        .read(|view| {
            let board = view.get();
            let mut dogs: Vec<_> = board.dogs.iter().collect();
            dogs.sort_by(|a, b| b.1.1.cmp(&a.1.1).then_with(|| a.1.0.cmp(&b.1.0)));
            Ok(dogs
                .into_iter()
                .take(10)
                .map(|(id, (name, tricks))| {
                    json!({"id": id.to_string(), "name": name, "tricks": tricks})
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(Json(json!({"dogs": dogs})))
}

/// The Python library's JSON section (`NotificationLogJSONService`): `id` (`"first,last"` of
/// the items), `next_id` (when the section is full), the items with originator ids in hex and
/// states in base64. There is no previous id: PostgreSQL's ids may have gaps, so the section
/// before one cannot be named without reading it; a follower only needs `next_id`.
pub fn section_json(section: &Section) -> Value {
    let items: Vec<Value> = section
        .items
        .iter()
        .map(|n| {
            json!({
                "id": n.id,
                "originator_id": n.originator_id.simple().to_string(),
                "originator_version": n.originator_version,
                "topic": n.topic,
                "state": base64::engine::general_purpose::STANDARD.encode(&n.state),
            })
        })
        .collect();
    json!({"id": section.id, "next_id": section.next_id, "items": items})
}

async fn section<R: Runner + 'static>(
    State(s): State<Service<R>>,
    Path(section_id): Path<String>,
) -> Result<Json<Value>, Failure> {
    let section = s.school.section(&section_id).await.map_err(|e| {
        if e.is_programming() || e.is_config() {
            failure(
                StatusCode::BAD_REQUEST,
                "bad_section",
                "a section id is \"first,last\"",
            )
        } else {
            e.into()
        }
    })?;
    Ok(Json(section_json(&section)))
}
