"""The clock: monthly billing keeps the anchor day, timers fire in order at their moment."""

from datetime import UTC, datetime

from fakestripe.clock import Clock, add_interval, add_months


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_a_month_from_the_31st_clamps_then_returns_to_the_anchor():
    feb = add_months(ts("2027-01-31T09:00:00"), 1, anchor_day=31)
    assert feb == ts("2027-02-28T09:00:00")
    assert add_months(feb, 1, anchor_day=31) == ts("2027-03-31T09:00:00")


def test_leap_years_and_yearly_intervals():
    assert add_interval(ts("2028-02-29T00:00:00"), "year", 1, anchor_day=29) == ts(
        "2029-02-28T00:00:00"
    )
    assert add_interval(ts("2026-12-15T00:00:00"), "month", 1, anchor_day=15) == ts(
        "2027-01-15T00:00:00"
    )
    assert add_interval(ts("2026-12-15T00:00:00"), "week", 2, anchor_day=15) == ts(
        "2026-12-29T00:00:00"
    )


def test_timers_fire_in_order_with_the_clock_pinned_to_their_moment(time_machine):
    time_machine.move_to(datetime(2027, 3, 1, tzinfo=UTC), tick=False)
    clock = Clock()
    start = clock.now()
    seen = []
    clock.at(start + 200, lambda: seen.append(("b", clock.now())))
    clock.at(start + 100, lambda: seen.append(("a", clock.now())))
    clock.at(start + 100, lambda: clock.at(start + 150, lambda: seen.append(("c", clock.now()))))
    clock.advance(300)
    assert seen == [("a", start + 100), ("c", start + 150), ("b", start + 200)]
    assert clock.now() == start + 300


def test_timers_beyond_the_move_wait(time_machine):
    time_machine.move_to(datetime(2027, 3, 1, tzinfo=UTC), tick=False)
    clock = Clock()
    seen = []
    clock.at(clock.now() + 1000, lambda: seen.append(1))
    clock.advance(999)
    assert seen == []
    clock.advance(1)
    assert seen == [1]
