"""Group commit (records, dispatch messages): one write carries every item submitted while
the previous write was in flight, and each submitter learns whether its own was written."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.batching import GroupCommit


class SlowBroker:
    """Records each publish; the first one blocks until released."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.first_started = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on

    def send(self, task_ids: list[str]) -> None:
        self.batches.append(list(task_ids))
        if len(self.batches) == 1:
            self.first_started.set()
            assert self.release.wait(5)
        if self.fail_on == len(self.batches):
            raise ConnectionError("broker went away")


def test_alone_a_task_is_sent_at_once_in_a_batch_of_one():
    sent: list[list[str]] = []
    batcher = GroupCommit(sent.append, name="dispatch")
    batcher.commit("web:a")
    batcher.commit("web:b")
    assert sent == [["web:a"], ["web:b"]]


def test_tasks_arriving_during_a_publish_share_the_next_one():
    broker = SlowBroker()
    batcher = GroupCommit(broker.send, name="dispatch")
    with ThreadPoolExecutor(max_workers=30) as pool:
        first = pool.submit(batcher.commit, "web:first")
        assert broker.first_started.wait(5)
        rest = [pool.submit(batcher.commit, f"web:{i}") for i in range(25)]
        while batcher.pending < 25:  # all queued behind the blocked publish
            threading.Event().wait(0.005)
        assert not any(f.done() for f in rest)
        broker.release.set()
        for future in [first, *rest]:
            future.result(timeout=5)
    assert broker.batches[0] == ["web:first"]
    assert sorted(broker.batches[1]) == sorted(f"web:{i}" for i in range(25))
    assert len(broker.batches) == 2


def test_a_batch_is_capped_and_the_rest_follow():
    broker = SlowBroker()
    batcher = GroupCommit(broker.send, name="dispatch", max_batch=10)
    with ThreadPoolExecutor(max_workers=30) as pool:
        pool.submit(batcher.commit, "web:first")
        assert broker.first_started.wait(5)
        rest = [pool.submit(batcher.commit, f"web:{i}") for i in range(25)]
        while batcher.pending < 25:
            threading.Event().wait(0.005)
        broker.release.set()
        for future in rest:
            future.result(timeout=5)
    assert [len(b) for b in broker.batches] == [1, 10, 10, 5]
    assert sorted(sum(broker.batches[1:], [])) == sorted(f"web:{i}" for i in range(25))


def test_a_failed_publish_raises_in_every_request_it_carried_and_only_those():
    broker = SlowBroker(fail_on=2)
    batcher = GroupCommit(broker.send, name="dispatch")
    with ThreadPoolExecutor(max_workers=10) as pool:
        first = pool.submit(batcher.commit, "web:first")
        assert broker.first_started.wait(5)
        carried = [pool.submit(batcher.commit, f"web:{i}") for i in range(5)]
        while batcher.pending < 5:
            threading.Event().wait(0.005)
        broker.release.set()
        first.result(timeout=5)
        for future in carried:
            with pytest.raises(ConnectionError, match="broker went away"):
                future.result(timeout=5)
    batcher.commit("web:after")  # the sender survives a failed publish
    assert broker.batches[-1] == ["web:after"]


def test_a_request_whose_publish_never_returns_times_out():
    stuck = threading.Event()
    batcher = GroupCommit(lambda _ids: stuck.wait(5), name="dispatch", timeout_s=0.1)
    with pytest.raises(TimeoutError, match="dispatch: not done within 0.1 s"):
        batcher.commit("web:x")
    stuck.set()


def test_every_request_of_a_batch_in_flight_too_long_times_out():
    """Only the submitter that opened a batch keeps a timer; the others wake with it."""
    stuck = threading.Event()
    started = threading.Event()

    def send(_ids: list[str]) -> None:
        started.set()
        stuck.wait(5)

    batcher = GroupCommit(send, name="dispatch", timeout_s=0.5)
    with ThreadPoolExecutor(max_workers=5) as pool:
        blocker = pool.submit(batcher.commit, "web:blocker")  # holds the sender
        assert started.wait(5)
        carried = [pool.submit(batcher.commit, f"web:{i}") for i in range(4)]
        with pytest.raises(TimeoutError, match="not done within 0.5 s"):
            blocker.result(timeout=5)
        for future in carried:  # their batch never got sent: withdrawn, all of it
            with pytest.raises(TimeoutError, match="not sent within 0.5 s"):
                future.result(timeout=5)
        assert batcher.pending == 0
    stuck.set()


def test_a_batch_that_times_out_before_it_is_taken_is_never_sent():
    broker = SlowBroker()
    batcher = GroupCommit(broker.send, name="dispatch", timeout_s=0.3)
    with ThreadPoolExecutor(max_workers=5) as pool:
        first = pool.submit(batcher.commit, "web:first")
        assert broker.first_started.wait(5)
        withdrawn = [pool.submit(batcher.commit, f"web:withdrawn{i}") for i in range(3)]
        for future in withdrawn:
            with pytest.raises(TimeoutError, match="dispatch: not sent within 0.3 s"):
                future.result(timeout=5)
        assert batcher.pending == 0
        kept = pool.submit(batcher.commit, "web:kept")
        while batcher.pending < 1:
            threading.Event().wait(0.005)
        broker.release.set()
        with pytest.raises(TimeoutError, match="not done within 0.3 s"):
            first.result(timeout=5)  # its own send outlived the deadline
        kept.result(timeout=5)
    assert broker.batches == [["web:first"], ["web:kept"]]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_sender_that_dies_fails_its_batch_at_once_and_is_started_again():
    """A BaseException in the sender (a killed greenlet, an exit) ends its thread: the
    batch it carried fails at once, and the next commit has a sender again."""
    sent: list[list[str]] = []

    def send(items: list[str]) -> None:
        if items == ["doomed"]:
            raise SystemExit("sender ended")
        sent.append(items)

    commit = GroupCommit(send, name="test", timeout_s=5)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="the sender stopped"):
        commit.commit("doomed")
    assert time.monotonic() - started < 2  # not the 5 s timeout
    commit.commit("next")  # a new sender takes it
    assert sent == [["next"]]
    dead = [t for t in threading.enumerate() if t.name == "test" and t is not commit._sender]
    for thread in dead:  # the ended sender is gone before the test ends
        thread.join(5)
