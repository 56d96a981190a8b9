//! TLS against a private cluster that accepts only TLS, with a test CA (`scripts/postgres-tls`,
//! run by `scripts/test`): `verify-full` with the right CA, `require` and `prefer` connect and
//! work (LISTEN included); the wrong CA fails closed as a TLS problem; `disable` is refused by
//! the server, clearly; malformed settings are configuration errors naming the variable.
//! Skips locally without `ES_TLS_POSTGRES_PORT`; fails in CI.

use std::time::Instant;

use es_core::{
    AggregateRecorder, ApplicationRecorder, ConnectProblem, Env, Error, EventQuery, Uuid,
};
use es_postgres::{PostgresApplicationRecorder, PostgresConfig};
use es_testkit::support::{event, next_ids};

/// The TLS cluster's settings with `mode` and, when given, a root file; `None` to skip.
fn env(mode: &str, root: Option<&str>) -> Option<Env> {
    let port = es_testkit::env_or_skip("ES_TLS_POSTGRES_PORT")?;
    let mut env = Env::from_process("TlsApp")
        .with("POSTGRES_PORT", port)
        .with(
            "POSTGRES_SCHEMA",
            format!("tls_{}", Uuid::new_v4().simple()),
        )
        .with("POSTGRES_CONNECT_TIMEOUT", "5")
        .with("POSTGRES_SSLMODE", mode);
    if let Some(var) = root {
        env = env.with("POSTGRES_SSLROOTCERT", std::env::var(var).unwrap());
    }
    Some(env)
}

fn open(env: &Env) -> es_core::Result<PostgresApplicationRecorder> {
    PostgresApplicationRecorder::from_env(env)
}

/// Writes, reads and subscribes (the LISTEN connection uses TLS too), then drops the schema.
fn works(env: &Env) {
    let r = open(env).unwrap();
    let other = open(env).unwrap();
    let id = Uuid::new_v4();
    let before = r.max_notification_id().unwrap();
    let mut sub = r.subscribe(before, &[]).unwrap();
    let ids = other.insert_events(&[event(id, 1, "Tls.Works")]).unwrap();
    assert_eq!(next_ids(&mut sub, 1, "a notification over TLS"), ids);
    assert_eq!(r.select_events(id, &EventQuery::new()).unwrap().len(), 1);
    let config = PostgresConfig::from_env(env).unwrap();
    es_postgres::drop_postgres_schema(&config, &config.schema).unwrap();
}

#[test]
fn verify_full_with_the_right_ca_connects() {
    let Some(env) = env("verify-full", Some("ES_TLS_CA")) else {
        return;
    };
    works(&env);
}

#[test]
fn verify_ca_require_and_prefer_connect() {
    for (mode, root) in [
        ("verify-ca", Some("ES_TLS_CA")),
        ("require", None),
        ("prefer", None),
    ] {
        let Some(env) = env(mode, root) else { return };
        works(&env);
    }
}

#[test]
fn a_certificate_from_the_wrong_ca_fails_closed() {
    for mode in ["verify-full", "verify-ca", "require"] {
        let Some(env) = env(mode, Some("ES_TLS_WRONG_CA")) else {
            return;
        };
        let start = Instant::now();
        let e = open(&env).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Connect {
                    problem: ConnectProblem::Tls,
                    ..
                }
            ),
            "{mode}: {e}"
        );
        eprintln!("{mode} with the wrong CA: {:?}: {e}", start.elapsed());
    }
}

#[test]
fn disable_against_a_tls_only_server_is_refused_clearly() {
    let Some(env) = env("disable", None) else {
        return;
    };
    let e = open(&env).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Connect {
                problem: ConnectProblem::Authorization,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.report().to_string().contains("no encryption"),
        "the server's reason is kept: {}",
        e.report()
    );
}

#[test]
fn bad_tls_settings_name_the_variable() {
    let Some(base) = env("verify-full", None) else {
        return;
    };
    let cases = [
        (
            "POSTGRES_SSLMODE",
            base.clone().with("POSTGRES_SSLMODE", "verify-everything"),
        ),
        (
            "POSTGRES_SSLROOTCERT",
            base.clone().with("POSTGRES_SSLROOTCERT", "/no/such/ca.pem"),
        ),
        (
            "POSTGRES_SSLKEY",
            base.clone().with("POSTGRES_SSLCERT", "/no/such/client.pem"),
        ),
        (
            "POSTGRES_SSLCERT",
            base.clone()
                .with("POSTGRES_SSLCERT", "/no/such/client.pem")
                .with("POSTGRES_SSLKEY", "/no/such/client.key"),
        ),
    ];
    for (var, env) in cases {
        let e = open(&env).unwrap_err();
        assert!(e.is_config() && e.to_string().contains(var), "{var}: {e}");
    }
}
