"""The webhook's batched publisher: ids gathered in memory, published off the request path."""

import os
import threading
import time

import pytest

from donations.publisher import BatchPublisher


def _wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_it_publishes_a_burst_as_one_batch():
    sent: list[list[int]] = []
    publisher = BatchPublisher(sent.append, linger=0.05)
    for pk in range(1, 11):
        publisher.add(pk)
    _wait_until(lambda: sent)
    assert sent == [list(range(1, 11))]
    assert publisher.pending() == 0


def test_it_keeps_publishing_later_ids():
    sent: list[list[int]] = []
    publisher = BatchPublisher(sent.append, linger=0.01)
    publisher.add(1)
    _wait_until(lambda: sent == [[1]])
    publisher.add(2)
    _wait_until(lambda: sent == [[1], [2]])


def test_a_broker_that_is_down_loses_the_batch_to_the_sweep_without_raising():
    tried: list[list[int]] = []

    def broker_down(batch):
        tried.append(batch)
        raise ConnectionRefusedError("nothing listens")

    publisher = BatchPublisher(broker_down, linger=0.0)
    publisher.add(7)
    _wait_until(lambda: tried == [[7]])
    # The ids are dropped, not retried in memory: their rows are pending for the sweep.
    assert publisher.pending() == 0
    assert publisher._thread.is_alive()


def test_flush_publishes_at_once_in_batches_of_at_most_500():
    sent: list[list[int]] = []
    publisher = BatchPublisher(sent.append, linger=60)
    for pk in range(1200):
        publisher._pks.append(pk)  # gathered without waking the thread
    assert publisher.flush() == 1200
    assert [len(batch) for batch in sent] == [500, 500, 200]


# Forking a process that runs the publisher's thread is exactly what this checks is safe.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_starts_with_its_own_empty_state():
    publisher = BatchPublisher(lambda batch: None, linger=60)
    publisher.add(1)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no ids of the parent, a lock it can take, a thread of its own
        ok = publisher.pending() == 0 and publisher._thread is None
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert publisher.pending() == 1
    assert isinstance(publisher._thread, threading.Thread)
