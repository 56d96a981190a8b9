//! Every numeric and boolean setting, table-driven: malformed values are config errors naming
//! the variable (and never echoing the value); empty values mean the default; app-prefixed keys
//! win.

use eventsourcing::mapper::Mapper;
use eventsourcing::postgres::PostgresConfig;
use eventsourcing::sqlite::SqliteConfig;
use eventsourcing::{ApplicationBuilder, Env, Error};

const MALFORMED: [&str; 4] = ["abc", "-1", "1.5.2", "yes please"];

fn postgres_env() -> Env {
    Env::new("DogSchool").with_all([
        ("POSTGRES_DBNAME", "db"),
        ("POSTGRES_HOST", "127.0.0.1"),
        ("POSTGRES_USER", "u"),
        ("POSTGRES_PASSWORD", "pw"),
    ])
}

fn assert_names(e: &Error, key: &str, value: &str) {
    let text = e.report().to_string();
    assert!(matches!(e, Error::Config { .. }), "{key}={value:?}: {e}");
    assert!(text.contains(key), "{key}={value:?}: {text}");
    assert!(!text.contains(value), "{key}={value:?} echoed: {text}");
}

#[test]
fn postgres_numbers_and_flags() {
    let keys = [
        "POSTGRES_PORT",
        "POSTGRES_POOL_SIZE",
        "POSTGRES_MAX_OVERFLOW",
        "POSTGRES_CONNECT_TIMEOUT",
        "POSTGRES_OUTAGE_TIMEOUT",
        "POSTGRES_STATEMENT_TIMEOUT",
        "POSTGRES_LOCK_TIMEOUT",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT",
        "POSTGRES_KEEPALIVES_IDLE",
        "POSTGRES_CONN_MAX_AGE",
        "POSTGRES_PRE_PING",
        "CREATE_TABLE",
    ];
    for key in keys {
        for bad in MALFORMED {
            if key == "POSTGRES_CONN_MAX_AGE" && bad == "-1" {
                continue; // a float: -1 means no maximum age
            }
            let e = PostgresConfig::from_env(&postgres_env().with(key, bad)).unwrap_err();
            assert_names(&e, key, bad);
        }
        let blank = PostgresConfig::from_env(&postgres_env().with(key, "")).unwrap();
        let default = PostgresConfig::from_env(&postgres_env()).unwrap();
        assert_eq!(
            format!("{blank:?}"),
            format!("{default:?}"),
            "{key}: empty means the default"
        );
        let prefixed = postgres_env()
            .with(key, "abc")
            .with(format!("DOGSCHOOL_{key}"), "");
        assert!(
            PostgresConfig::from_env(&prefixed).is_ok(),
            "{key}: the prefixed key wins"
        );
    }
    for key in [
        "POSTGRES_DBNAME",
        "POSTGRES_HOST",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
    ] {
        let mut env = Env::new("DogSchool");
        for other in [
            "POSTGRES_DBNAME",
            "POSTGRES_HOST",
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
        ] {
            if other != key {
                env = env.with(other, "x");
            }
        }
        let e = PostgresConfig::from_env(&env).unwrap_err();
        assert!(
            e.to_string().contains(&format!("DOGSCHOOL_{key}, {key}")),
            "{e}"
        );
    }
}

#[test]
fn sqlite_numbers_and_flags() {
    let base = || Env::new("DogSchool").with("SQLITE_DBNAME", ":memory:");
    for key in ["SQLITE_LOCK_TIMEOUT", "SQLITE_POOL_SIZE", "CREATE_TABLE"] {
        for bad in MALFORMED {
            assert_names(
                &SqliteConfig::from_env(&base().with(key, bad)).unwrap_err(),
                key,
                bad,
            );
        }
        assert_eq!(
            SqliteConfig::from_env(&base().with(key, "")).unwrap(),
            SqliteConfig::from_env(&base()).unwrap()
        );
    }
    assert!(SqliteConfig::from_env(&base().with("SQLITE_POOL_SIZE", "0")).is_err());
}

#[test]
fn application_numbers_and_flags() {
    for (key, extra) in [
        ("IS_SNAPSHOTTING_ENABLED", None),
        ("AGGREGATE_CACHE_MAXSIZE", None),
        (
            "COMPRESSOR_MAX_DECOMPRESSED",
            Some(("COMPRESSOR_TOPIC", "zlib")),
        ),
    ] {
        for bad in MALFORMED {
            let mut b = ApplicationBuilder::new("DogSchool")
                .without_process_env()
                .var(key, bad);
            if let Some((k, v)) = extra {
                b = b.var(k, v);
            }
            assert_names(&b.build().unwrap_err(), key, bad);
        }
        assert!(
            ApplicationBuilder::new("DogSchool")
                .without_process_env()
                .var(key, "")
                .build()
                .is_ok()
        );
    }
    for flag in [
        "y", "YES", "t", "True", "on", "1", "n", "No", "f", "FALSE", "off", "0",
    ] {
        let app = ApplicationBuilder::new("DogSchool")
            .without_process_env()
            .var("IS_SNAPSHOTTING_ENABLED", flag)
            .build()
            .unwrap();
        let on = matches!(
            flag.to_ascii_lowercase().as_str(),
            "y" | "yes" | "t" | "true" | "on" | "1"
        );
        assert_eq!(app.snapshotting(), on, "{flag}");
    }
    let e = Mapper::from_env(&Env::new("a").with("CIPHER_KEY", "%%%")).unwrap_err();
    assert_names(&e, "CIPHER_KEY", "%%%");
}
