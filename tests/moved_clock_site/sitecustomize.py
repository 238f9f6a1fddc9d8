"""Tests only (see tests/moved_clock.py): a Python process the tests start with
PLEDGE_TEST_NOW set and this folder on PYTHONPATH runs on the test's moved clock.

Python imports `sitecustomize` at start-up, before the process's own code, so the worker,
gunicorn or the demo read the moved time from their first line. Self-contained on purpose:
the project's folder may not be on sys.path yet."""

import os
from datetime import datetime

if os.environ.get("PLEDGE_TEST_NOW"):
    import time_machine

    time_machine.travel(datetime.fromisoformat(os.environ["PLEDGE_TEST_NOW"]), tick=True).start()
