//! `eventsourcing`: the operator command. It reads the same environment configuration as the
//! applications (`PERSISTENCE_MODULE`, `SQLITE_DBNAME`, `POSTGRES_*`, `CIPHER_KEY`, ...,
//! app-prefixed keys first) and looks at an application's stored events.
//!
//! ```sh
//! cargo run --features cli --bin eventsourcing -- status DogSchool Counters
//! cargo run --features cli --bin eventsourcing -- tail DogSchool --after 10 --decode
//! cargo run --features cli --bin eventsourcing -- verify DogSchool
//! cargo run --features cli --bin eventsourcing -- drop DogSchool --yes-drop-tables
//! cargo run --features cli --bin eventsourcing -- dcb-tail CourseBooking --tags course-1
//! cargo run --features cli --bin eventsourcing -- dcb-verify CourseBooking
//! cargo run --features cli --bin eventsourcing -- park Counters DogSchool --reason "bad data"
//! cargo run --features cli --bin eventsourcing -- parked Counters
//! cargo run --features cli --bin eventsourcing -- retry Counters DogSchool 42
//! cargo run --features cli --bin eventsourcing -- drop-parked Counters DogSchool 42 --reason "void"
//! ```
//!
//! Exit codes: 0 success, 1 a problem found or an error, 2 a usage error.

// No unwrap or expect: the command reports typed errors.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod dcb;
mod inspect;
mod parking;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Looks at the stored events of event-sourced applications, configured from the environment.
#[derive(Debug, Parser)]
#[command(name = "eventsourcing", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Each application's highest notification id, and for each of them that follows another,
    /// its position in that leader's log and its lag.
    Status {
        /// The applications, by name (for example `DogSchool Counters`).
        #[arg(required = true)]
        applications: Vec<String>,
    },
    /// The application's notifications: id, originator id, version and topic (and, with
    /// `--decode`, the state as JSON, decrypted and decompressed with the configured key).
    Tail {
        /// The application.
        application: String,
        /// Only notifications after this id.
        #[arg(long)]
        after: Option<u64>,
        /// At most this many notifications (all by default).
        #[arg(long)]
        limit: Option<usize>,
        /// Keep printing new notifications as they are recorded, until interrupted.
        #[arg(long)]
        follow: bool,
        /// Print each state, decoded with the configured cipher and compressor.
        #[arg(long)]
        decode: bool,
    },
    /// Checks the application's log: ids strictly increasing, versions contiguous from 1 per
    /// aggregate, every state decodes with the configured key to JSON, and, with `--topics`,
    /// every topic is under one of the given prefixes (`Dog` owns `Dog` and `Dog.…`). Exits 1
    /// on any problem.
    Verify {
        /// The application.
        application: String,
        /// The prefixes of the event types the application records, comma-separated (for
        /// example `Dog,Counter`); parked notifications (`eventsourcing.Parked`) always pass.
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
    },
    /// Parks the notification of LEADER that FOLLOWER is stopped on (its next unprocessed
    /// one), recorded with the tracking record that moves past it: the edge goes on.
    Park {
        /// The follower.
        follower: String,
        /// The leader.
        leader: String,
        /// Why, kept with it.
        #[arg(long)]
        reason: String,
    },
    /// The notifications FOLLOWER has parked: leader, id, topic, status, reason.
    Parked {
        /// The follower.
        follower: String,
    },
    /// Asks for a retry of a parked notification through the follower's policy, which a runner
    /// of the follower performs when it next starts.
    Retry {
        /// The follower.
        follower: String,
        /// The leader.
        leader: String,
        /// The parked notification's id.
        notification_id: u64,
    },
    /// Gives up a parked notification for good.
    DropParked {
        /// The follower.
        follower: String,
        /// The leader.
        leader: String,
        /// The parked notification's id.
        notification_id: u64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// The application's DCB log: position, type and tags of each event (and, with `--data`,
    /// its data as text).
    DcbTail {
        /// The application.
        application: String,
        /// Only events after this position.
        #[arg(long)]
        after: Option<u64>,
        /// At most this many events (all by default).
        #[arg(long)]
        limit: Option<usize>,
        /// Only events carrying every one of these tags, comma-separated.
        #[arg(long, value_delimiter = ',')]
        tags: Vec<String>,
        /// Print each event's data (as text; binary data as its length).
        #[arg(long)]
        data: bool,
    },
    /// Checks the application's DCB log: positions strictly increasing, and every type (and up
    /// to 1,000 tags) read by its query finds exactly the log's events of it. Exits 1 on any
    /// problem.
    DcbVerify {
        /// The application.
        application: String,
    },
    /// Drops the application's tables (events, snapshots, tracking); PostgreSQL only.
    Drop {
        /// The application.
        application: String,
        /// Confirms that the tables and every event in them are to be deleted.
        #[arg(long)]
        yes_drop_tables: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Status { applications } => inspect::status(&applications),
        Command::Tail {
            application,
            after,
            limit,
            follow,
            decode,
        } => inspect::tail(&application, after, limit, follow, decode),
        Command::Verify {
            application,
            topics,
        } => inspect::verify(&application, &topics),
        Command::Park {
            follower,
            leader,
            reason,
        } => parking::park(&follower, &leader, &reason),
        Command::Parked { follower } => parking::list(&follower),
        Command::Retry {
            follower,
            leader,
            notification_id,
        } => parking::retry(&follower, &leader, notification_id),
        Command::DropParked {
            follower,
            leader,
            notification_id,
            reason,
        } => parking::drop(&follower, &leader, notification_id, &reason),
        Command::DcbTail {
            application,
            after,
            limit,
            tags,
            data,
        } => dcb::tail(&application, after, limit, &tags, data),
        Command::DcbVerify { application } => dcb::verify(&application),
        Command::Drop {
            application,
            yes_drop_tables,
        } => {
            if !yes_drop_tables {
                eprintln!("refusing to drop the tables of {application} without --yes-drop-tables");
                return ExitCode::from(2);
            }
            inspect::drop_tables(&application)
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {}", e.report());
            ExitCode::FAILURE
        }
    }
}
