"""The tutorial system in the Python library (eventsourcing 9.5.6), measured the way
benches/system.rs measures ours, for same-window ratios in BENCHMARKS.md.

    python3 -m venv /tmp/pyes && /tmp/pyes/bin/pip install eventsourcing==9.5.6 'psycopg[binary]'
    eval "$(scripts/postgres-setup)"; /tmp/pyes/bin/python benches/python/tutorial_system.py

Per backend (POPO, a SQLite file, PostgreSQL when POSTGRES_DBNAME is set) and runner:
- "commands": register a dog, load it, add a trick, save (two commands); then wait until
  Counters has processed the save (as our `system/<backend>/<runner>` bench);
- "burst": 100 such pairs, then one wait for the last (as our `system-burst` bench).
Both applications use the aggregate cache, as ours do. Prints commands per second.
"""

import os
import subprocess
import sys
import tempfile
import time
import uuid
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.application import AggregateNotFoundError as AggregateNotFound
from eventsourcing.application import Application
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import Aggregate, event
from eventsourcing.system import (
    MultiThreadedRunner,
    ProcessApplication,
    SingleThreadedRunner,
    System,
)

TRICKS = ["sit", "stay", "roll over", "fetch", "play dead", "beg", "heel", "spin", "jump", "speak"]
SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))


class DogSchool(Application):
    def register_dog(self, name):
        dog = Dog(name)
        self.save(dog)
        return dog.id

    def add_trick(self, dog_id, trick):
        dog = self.repository.get(dog_id)
        dog.add_trick(trick=trick)
        return self.save(dog)


class Dog(Aggregate):
    @event("Registered")
    def __init__(self, name):
        self.name = name
        self.tricks = []

    @event("TrickAdded")
    def add_trick(self, trick):
        self.tricks.append(trick)


class Counters(ProcessApplication):
    @singledispatchmethod
    def policy(self, domain_event, process_event):
        """Default policy"""

    @policy.register(Dog.TrickAdded)
    def _(self, domain_event, process_event):
        trick = domain_event.trick
        try:
            counter = self.repository.get(Counter.create_id(trick))
        except AggregateNotFound:
            counter = Counter(trick)
        counter.increment()
        process_event.collect_events(counter)


class Counter(Aggregate):
    def __init__(self, name):
        self.name = name
        self.count = 0

    @classmethod
    def create_id(cls, name):
        return uuid5(NAMESPACE_URL, f"/counters/{name}")

    @event("Incremented")
    def increment(self):
        self.count += 1


def command(school, i):
    dog_id = school.register_dog("Fido")
    recordings = school.add_trick(dog_id, TRICKS[i % len(TRICKS)])
    return recordings[-1].notification.id


def measure(runner_class, env, burst):
    runner = runner_class(System(pipes=[[DogSchool, Counters]]), env=env)
    runner.start()
    try:
        school = runner.get(DogSchool)
        counters = runner.get(Counters)

        def wait(notification_id):
            # The library's own `recorder.wait` first sleeps 100 ms; poll every 0.2 ms instead,
            # so that the figure is the system's, not the wait's.
            if runner_class is MultiThreadedRunner:
                deadline = time.monotonic() + 30
                while not counters.recorder.has_tracking_id("DogSchool", notification_id):
                    if time.monotonic() > deadline:
                        raise TimeoutError(notification_id)
                    time.sleep(0.0002)

        i = 0
        for _ in range(50):  # warm-up
            i += 1
            wait(command(school, i))
        started = time.perf_counter()
        done = 0
        while time.perf_counter() - started < SECONDS:
            last = None
            for _ in range(100 if burst else 1):
                i += 1
                last = command(school, i)
                done += 2
            wait(last)
        return done / (time.perf_counter() - started)
    finally:
        runner.stop()


def backends():
    cache = {"AGGREGATE_CACHE_MAXSIZE": "10000"}
    yield "popo", dict(cache)
    directory = tempfile.mkdtemp()
    yield "sqlite-file", dict(
        cache,
        PERSISTENCE_MODULE="eventsourcing.sqlite",
        SQLITE_DBNAME=os.path.join(directory, "system.db"),
    )
    if os.environ.get("POSTGRES_DBNAME"):
        schema = f"pybench_{uuid.uuid4().hex[:12]}"
        subprocess.run(
            ["psql", "-q", "-c", f"CREATE SCHEMA {schema}"],
            check=True,
            env=dict(
                os.environ,
                PGHOST=os.environ.get("POSTGRES_HOST", "127.0.0.1"),
                PGPORT=os.environ.get("POSTGRES_PORT", "5432"),
                PGUSER=os.environ.get("POSTGRES_USER", "postgres"),
                PGPASSWORD=os.environ.get("POSTGRES_PASSWORD", ""),
                PGDATABASE=os.environ["POSTGRES_DBNAME"],
            ),
        )
        env = {k: v for k, v in os.environ.items() if k.startswith("POSTGRES_")}
        env.update(cache, PERSISTENCE_MODULE="eventsourcing.postgres", POSTGRES_SCHEMA=schema)
        yield "postgres", env


def main():
    for name, env in backends():
        for label, runner_class in (("single", SingleThreadedRunner), ("multi", MultiThreadedRunner)):
            for burst in (False, True):
                # A fresh SQLite file or schema per run would change little; the tables grow.
                rate = measure(runner_class, env, burst)
                kind = "burst" if burst else "commands"
                print(f"python {name} {label} {kind}: {rate:,.0f} commands/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
