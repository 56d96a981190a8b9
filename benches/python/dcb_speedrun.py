"""The enrolment speedrun on the Python library's DCB recorders (eventsourcing 9.5.6), the
workload benches/dcb_speedrun.rs runs on ours, for same-window ratios in BENCHMARKS.md.

    eval "$(scripts/python-eventsourcing)"; eval "$(scripts/postgres-setup)"
    $ES_PYTHON benches/python/dcb_speedrun.py          # postgres_tt, then in memory

Each iteration registers 10 courses and 10 students (each an append with the condition
"nothing with my tag"), then joins every student to every course: a read of the two-item
boundary, the checks, and an append with the boundary as condition after the read's head. 120
operations per iteration, one client (POSTGRES_POOL_SIZE=1, as the published speedrun), for
SECONDS (default 10) per mode. CLIENTS (default 1) threads share the recorder for the
multi-client row (the pool then has as many connections). DCB_PRELOAD=N first fills the
PostgreSQL log with N events of other tags, then vacuums it, as the Rust bench does. Prints operations per second.
"""

import os
import threading
import time
import uuid

import psycopg

from eventsourcing.dcb.api import DCBAppendCondition, DCBEvent, DCBQuery, DCBQueryItem
from eventsourcing.dcb.application import DCBApplication

SECONDS = float(os.environ.get("SECONDS", "10"))
PRELOAD = int(os.environ.get("DCB_PRELOAD", "0"))
CLIENTS = int(os.environ.get("CLIENTS", "1"))


def register(r, type_, tag, data):
    condition = DCBAppendCondition(DCBQuery([DCBQueryItem(tags=[tag])]))
    r.append([DCBEvent(type_, data, [tag])], condition)


def join(r, student, course):
    boundary = DCBQuery(
        [
            DCBQueryItem(["StudentRegistered", "StudentJoinedCourse"], [student]),
            DCBQueryItem(["CourseRegistered", "StudentJoinedCourse"], [course]),
        ]
    )
    read = r.read(boundary)
    events = list(read)
    student_ok = course_ok = False
    taken = joined = 0
    for e in events:
        if e.event.type == "StudentRegistered":
            student_ok = True
        elif e.event.type == "CourseRegistered":
            course_ok = True
        else:
            taken += student in e.event.tags
            joined += course in e.event.tags
    assert student_ok and course_ok and taken < 10 and joined < 10
    event = DCBEvent("StudentJoinedCourse", b"{}", [course, student])
    r.append([event], DCBAppendCondition(boundary, after=read.head))


def enrol(r, courses, students):
    run = uuid.uuid4().hex
    cs = [f"course-{run}-{n}" for n in range(courses)]
    ss = [f"student-{run}-{n}" for n in range(students)]
    for c in cs:
        register(r, "CourseRegistered", c, b'{"name":"Course","places":10}')
    for s in ss:
        register(r, "StudentRegistered", s, b'{"name":"Student","max_courses":10}')
    for s in ss:
        for c in cs:
            join(r, s, c)


def admin(statement):
    e = os.environ
    with psycopg.connect(
        host=e["POSTGRES_HOST"],
        port=e.get("POSTGRES_PORT", "5432"),
        user=e["POSTGRES_USER"],
        password=e["POSTGRES_PASSWORD"],
        dbname=e["POSTGRES_DBNAME"],
        autocommit=True,
    ) as conn:
        conn.execute(statement)


def measure(module):
    schema = "pyspeedrun_" + uuid.uuid4().hex[:8]
    env = {
        "PERSISTENCE_MODULE": module,
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(CLIENTS),
        "POSTGRES_MAX_OVERFLOW": "0",
    }
    # Python's tt recorder needs its schema on the search path (its D4).
    os.environ["PGOPTIONS"] = f"-c search_path={schema},public"
    if module.endswith("postgres_tt"):
        admin(f"CREATE SCHEMA {schema}")
    app = DCBApplication(env=env)
    r = app.recorder
    if PRELOAD and module.endswith("postgres_tt"):
        main, tag = f"{schema}.dcbapplication_events_tt_main", f"{schema}.dcbapplication_events_tt_tag"
        admin(
            f"INSERT INTO {main} (type, data, tags) SELECT 'Filler', '\\x7b7d', "
            f"ARRAY['filler-' || g, 'group-' || (g % 1000)] FROM generate_series(1, {PRELOAD}) g; "
            f"INSERT INTO {tag} (tag, main_id) SELECT unnest(tags), id FROM {main}; "
            f"ANALYZE {main}; ANALYZE {tag}"
        )
        admin(f"VACUUM ANALYZE {main}, {tag}")
        try:
            admin("CHECKPOINT")
        except psycopg.Error:
            pass
    ops = [0] * CLIENTS
    deadline = time.perf_counter() + SECONDS

    def client(k):
        while time.perf_counter() < deadline:
            if CLIENTS == 1:
                enrol(r, 10, 10)
                ops[k] += 120
            else:
                enrol(r, 2, 2)
                ops[k] += 8

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    app.close()
    if module.endswith("postgres_tt"):
        admin(f"DROP SCHEMA {schema} CASCADE")
    return sum(ops) / elapsed


if __name__ == "__main__":
    for module in ["eventsourcing.dcb.postgres_tt", "eventsourcing.dcb.popo"]:
        if module.endswith("popo") and CLIENTS > 1:
            continue
        rate = measure(module)
        print(f"{module} clients={CLIENTS}: {rate:,.0f} ops/s")
