"""The emulator's clock: wall time plus an offset that tests move forward.

Things Stripe does later (renew a subscription, retry a failed invoice, expire an
incomplete subscription, pay out the balance) are timers. `advance()` fires them in time
order with the clock pinned to each timer's moment, so an invoice created by a renewal
carries the renewal's timestamp, as it would have at Stripe.
"""

import calendar
import heapq
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self._offset = 0
        self._pinned: int | None = None
        self._timers: list[tuple[int, int, Callable[[], None]]] = []
        self._sequence = itertools.count()

    def now(self) -> int:
        if self._pinned is not None:
            return self._pinned
        return int(time.time()) + self._offset

    def at(self, when: int, action: Callable[[], None]) -> None:
        """Run `action` once the clock reaches `when` (actions re-check their own state)."""
        heapq.heappush(self._timers, (when, next(self._sequence), action))

    def advance(self, seconds: int) -> None:
        target = self.now() + seconds
        try:
            while self._timers and self._timers[0][0] <= target:
                when, _, action = heapq.heappop(self._timers)
                self._pinned = max(when, self._pinned or 0)
                action()
        finally:
            self._pinned = None
        self._offset += target - self.now()

    def run_due(self) -> None:
        """Fire timers whose moment has passed in wall time (the long-running server)."""
        self.advance(0)


def add_months(ts: int, months: int, anchor_day: int) -> int:
    """Stripe's monthly billing: same day of month as the anchor, clamped to month end."""
    moment = datetime.fromtimestamp(ts, UTC)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(anchor_day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def add_interval(ts: int, interval: str, count: int, anchor_day: int) -> int:
    if interval == "day":
        return ts + 86400 * count
    if interval == "week":
        return ts + 7 * 86400 * count
    if interval == "month":
        return add_months(ts, count, anchor_day)
    return add_months(ts, 12 * count, anchor_day)


def day_of_month(ts: int) -> int:
    return datetime.fromtimestamp(ts, UTC).day
