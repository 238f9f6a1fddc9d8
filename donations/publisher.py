"""Publishing the webhook inbox's processing tasks off the request path, in batches.

Why: a Celery publish costs ~0.6-0.9 ms of CPU here (building the message, serialising,
kombu's producer), as much as the rest of the webhook intake put together (verify, parse,
INSERT). Measured under gunicorn (bench/bench_webhook_intake.py, gunicorn CPU per
request), publishing in the request made intake cost 1.75x a bare verify-and-INSERT view
(a throughput ratio of ~0.57 on an idle machine); batched, ~1.15x (~0.86). So the view hands
the new row's id to this module (a list append), and one daemon thread per web process
publishes whatever has gathered, every LINGER_SECONDS (50 ms), as ONE message
(`dispatch_stripe_events`); a worker fans it out into one `process_stripe_event` task per
row, so retries stay per event and processing stays parallel.

What it costs: up to 50 ms more before processing starts. What can be lost: ids
still in memory when a web process is killed (SIGKILL, OOM) before its next flush; their
rows are committed and pending, and the sweep enqueues them after
STRIPE_INBOX_STUCK_AFTER_SECONDS. A graceful exit flushes at exit. A broker that is down
only makes the flush log a warning, for the same reason.

STRIPE_WEBHOOK_ENQUEUE = "direct" publishes in the request instead (one task per event,
no thread), for hosts that forbid threads in web processes.
"""

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

LINGER_SECONDS = 0.05
MAX_BATCH = 500


class BatchPublisher:
    def __init__(
        self, send_batch: Callable[[list[int]], None], *, linger: float = LINGER_SECONDS
    ) -> None:
        self._send_batch = send_batch
        self._linger = linger
        self._reset()
        os.register_at_fork(after_in_child=self._reset)
        atexit.register(self.flush)

    def _reset(self) -> None:
        # A forked child gets fresh state: the parent's lock could be held and its thread
        # does not exist in the child.
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._pks: list[int] = []
        self._thread: threading.Thread | None = None

    def add(self, pk: int) -> None:
        with self._lock:
            self._pks.append(pk)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="stripe-inbox-publisher", daemon=True
                )
                self._thread.start()
            self._ready.notify()

    def pending(self) -> int:
        with self._lock:
            return len(self._pks)

    def flush(self) -> int:
        """Publish everything gathered so far; returns how many ids were handed over."""
        with self._lock:
            pks, self._pks = self._pks, []
        for start in range(0, len(pks), MAX_BATCH):
            batch = pks[start : start + MAX_BATCH]
            try:
                self._send_batch(batch)
            except Exception:
                log.warning(
                    "could not publish %d stripe events; the sweep will", len(batch), exc_info=True
                )
                return start
        return len(pks)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pks:
                    self._ready.wait()
            time.sleep(self._linger)  # let a burst gather into one message
            self.flush()
