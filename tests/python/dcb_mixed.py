"""The Python library's DCB recorder (eventsourcing.dcb.postgres_tt) on the tables the Rust
tests share with it. Prints one JSON line.

  write                 appends the course-booking events (one unconditional, two conditional)
  read                  every event: position, type, data (hex), tags
  join TAG AFTER        appends Joined[TAG] unless an event tagged TAG follows AFTER
"""

import json
import sys

from eventsourcing.dcb.api import DCBAppendCondition, DCBEvent, DCBQuery, DCBQueryItem
from eventsourcing.dcb.application import DCBApplication
from eventsourcing.persistence import IntegrityError


def unless(tags, after=None, types=()):
    item = DCBQueryItem(types=list(types), tags=list(tags))
    return DCBAppendCondition(fail_if_events_match=DCBQuery(items=[item]), after=after)


def main(args):
    app = DCBApplication()
    r = app.recorder
    try:
        if args[0] == "write":
            p1 = r.append([DCBEvent("StudentRegistered", b'{"name":"Max"}', ["student-1"])])
            p2 = r.append(
                [DCBEvent("CourseRegistered", b'{"places":2}', ["course-1"])],
                unless(["course-1"]),
            )
            joined = DCBEvent("StudentJoinedCourse", b"{}", ["course-1", "student-1"])
            p3 = r.append([joined], unless(["course-1"], p2, ["StudentJoinedCourse"]))
            return [p1, p2, p3]
        if args[0] == "read":
            return [
                {
                    "position": e.position,
                    "type": e.event.type,
                    "data": e.event.data.hex(),
                    "tags": e.event.tags,
                }
                for e in r.read()
            ]
        if args[0] == "join":
            tag, after = args[1], int(args[2])
            try:
                return r.append([DCBEvent("Joined", b"", [tag])], unless([tag], after))
            except IntegrityError:
                return "refused"
        raise SystemExit(f"unknown command {args[0]!r}")
    finally:
        app.close()


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
