"""The whole suite at a chosen moment: `PLEDGE_TEST_NOW=2027-01-31T23:30:00-05:00 make test`.

The test process travels there at start-up (time_machine, with the clock ticking on), and
so does every Python process the tests start: `child_environment()` hands a subprocess
this process's moved "now" and puts `moved_clock_site/` on its PYTHONPATH, whose
`sitecustomize` starts the same travel before the child's own code runs. The environment
is inherited, so the children's children (the demo's gunicorn, Celery and emulator) move
too. Chromium cannot be moved: browser tests are skipped on a moved clock.
"""

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import time_machine

ENV = "PLEDGE_TEST_NOW"
SITE_DIR = Path(__file__).resolve().with_name("moved_clock_site")


def requested_now(environ: Mapping[str, str] = os.environ) -> datetime | None:
    """The moment PLEDGE_TEST_NOW asks for; None when unset. It must carry a UTC offset: a
    date at the organisation's midnight or a DST switch means nothing without one."""
    value = environ.get(ENV, "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{ENV}={value!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{ENV}={value!r} needs a UTC offset, e.g. 2027-01-31T23:30:00-05:00")
    return moment


def start(environ: Mapping[str, str] = os.environ) -> time_machine.travel | None:
    """Move this process's clock to PLEDGE_TEST_NOW, ticking; the caller stops it."""
    moment = requested_now(environ)
    if moment is None:
        return None
    travel = time_machine.travel(moment, tick=True)
    travel.start()
    return travel


def child_environment(env: Mapping[str, str]) -> dict[str, str]:
    """`env` for a Python subprocess, on this process's moved clock when the suite runs on
    one (unchanged otherwise). The child starts from where this clock is now, not from
    PLEDGE_TEST_NOW, so it agrees with the test however long the session has run."""
    env = dict(env)
    if requested_now() is None:
        env.pop(ENV, None)
        return env
    env[ENV] = datetime.now(UTC).isoformat()
    paths = [str(SITE_DIR), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env
