"""The Python side of the mixed-language tests (tests/python_interop.rs), on the PostgreSQL
schema of POSTGRES_SCHEMA, with the Python library's own settings from the environment.

    python mixed.py write     # DogSchool: the tutorial's three dogs and six tricks
    python mixed.py follow    # DogSchool -> Counters: catch up, print the counts as JSON
    python mixed.py dogs ID.. # DogSchool: print each dog as JSON

Run with this directory on PYTHONPATH (the topics name the module tutorial.domainmodel).
"""

import json
import sys
from uuid import UUID

from eventsourcing.system import SingleThreadedRunner, System

from tutorial.application import Counters, DogSchool

TRICKS = ["roll over", "fetch ball", "play dead"]


def write():
    school = DogSchool()
    billy = school.register_dog("Billy")
    milly = school.register_dog("Milly")
    scrappy = school.register_dog("Scrappy")
    for dog, tricks in [(billy, TRICKS), (milly, TRICKS[:2]), (scrappy, TRICKS[:1])]:
        for trick in tricks:
            school.add_trick(dog, trick)
    print(json.dumps({"dogs": [str(billy), str(milly), str(scrappy)]}))


def follow():
    runner = SingleThreadedRunner(System(pipes=[[DogSchool, Counters]]))
    runner.start()
    try:
        counters = runner.get(Counters)
        counters.pull_and_process("DogSchool")
        print(json.dumps({trick: counters.get_count(trick) for trick in TRICKS}))
    finally:
        runner.stop()


def dogs(ids):
    school = DogSchool()
    print(json.dumps([school.get_dog(UUID(i)) for i in ids], default=list))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "write":
        write()
    elif command == "follow":
        follow()
    elif command == "dogs":
        dogs(sys.argv[2:])
    else:
        sys.exit(f"unknown command {command}")
