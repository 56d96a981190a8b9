"""The Python library's ProjectionRunner (eventsourcing 9.5.6) catching up into a PostgreSQL
view, measured as benches/projection.rs measures ours, for same-window ratios in BENCHMARKS.md.

    python3 -m venv /tmp/pyes && /tmp/pyes/bin/pip install eventsourcing==9.5.6 'psycopg[binary]'
    eval "$(scripts/postgres-setup)"; /tmp/pyes/bin/python benches/python/projection_runner.py

A DogSchool log of BENCH_EVENTS events (default 5,000) in saves of 100 (a dog registered with 99
tricks), then, RUNS times (default 3), a ProjectionRunner on a fresh view schema counting events
by type: one transaction per event (the tracking upsert and a counter upsert, the way the
library's own PostgreSQL view example writes), timed from construction to `wait` on the last
notification. Prints events per second.
"""

import os
import time
import uuid

import psycopg
from psycopg.sql import SQL, Identifier

from eventsourcing.application import Application
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import Aggregate, event
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner

EVENTS = int(os.environ.get("BENCH_EVENTS", "5000"))
RUNS = int(os.environ.get("RUNS", "3"))
TRICKS = ["sit", "stay", "roll over", "fetch", "play dead", "beg", "heel", "spin", "jump", "speak"]


class Dog(Aggregate):
    @event("Registered")
    def __init__(self, name):
        self.name = name
        self.tricks = []

    @event("TrickAdded")
    def add_trick(self, trick):
        self.tricks.append(trick)


class DogSchool(Application):
    pass


class EventCountersView(PostgresTrackingRecorder):
    def __init__(self, datastore, **kwargs):
        super().__init__(datastore, **kwargs)
        self.counts = Identifier(self.datastore.schema, "eventcounters_counts")
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {0} (name text PRIMARY KEY, n bigint NOT NULL)").format(
                self.counts
            )
        )
        self.upsert = SQL(
            "INSERT INTO {0} AS t VALUES (%s, 1) ON CONFLICT (name) DO UPDATE SET n = t.n + 1"
        ).format(self.counts)

    def incr(self, name, tracking):
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            curs.execute(self.upsert, (name,), prepare=True)


class EventCounters(Projection[EventCountersView]):
    name = "eventcounters"

    @singledispatchmethod
    def process_event(self, domain_event, tracking):
        self.view.incr(type(domain_event).__name__, tracking)


def postgres_env():
    env = {
        "POSTGRES_DBNAME": os.environ["POSTGRES_DBNAME"],
        "POSTGRES_HOST": os.environ.get("POSTGRES_HOST", "127.0.0.1"),
        "POSTGRES_PORT": os.environ.get("POSTGRES_PORT", "5432"),
        "POSTGRES_USER": os.environ["POSTGRES_USER"],
        "POSTGRES_PASSWORD": os.environ["POSTGRES_PASSWORD"],
    }
    return env


def run_sql(env, statement):
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        autocommit=True,
    ) as conn:
        conn.execute(statement)


def create_schema(env, schema):
    run_sql(env, SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(Identifier(schema)))


def drop_schema(env, schema):
    run_sql(env, SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(Identifier(schema)))


def main():
    base = postgres_env()
    leader_schema = f"pyleader_{uuid.uuid4().hex}"
    create_schema(base, leader_schema)
    env = dict(base)
    env.update(
        {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_SCHEMA": leader_schema,
        }
    )
    app = DogSchool(env=env)
    for i in range(EVENTS // 100):
        dog = Dog(f"d{i}")
        for k in range(99):
            dog.add_trick(TRICKS[(i + k) % len(TRICKS)])
        app.save(dog)
    last = app.recorder.max_notification_id()
    app.close()
    rates = []
    for _ in range(RUNS):
        view_schema = f"pyview_{uuid.uuid4().hex}"
        create_schema(base, view_schema)
        run_env = dict(env)
        run_env["EVENTCOUNTERS_POSTGRES_SCHEMA"] = view_schema
        started = time.perf_counter()
        with ProjectionRunner(
            application_class=DogSchool,
            projection_class=EventCounters,
            view_class=EventCountersView,
            env=run_env,
        ) as runner:
            runner.wait(last, timeout=3600)
        took = time.perf_counter() - started
        rates.append(last / took)
        drop_schema(base, view_schema)
    drop_schema(base, leader_schema)
    rates.sort()
    print(
        f"python ProjectionRunner into a PostgreSQL view: {last} events; events/s per run "
        f"{[round(r) for r in rates]}; median {round(rates[len(rates) // 2])}"
    )


if __name__ == "__main__":
    main()
