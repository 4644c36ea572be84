"""The server process's collector settings and the pause measurement the fleet benchmark reads."""

from __future__ import annotations

import gc
import json

import pytest

from core import runtime


@pytest.fixture
def collector_restored():
    thresholds = gc.get_threshold()
    callbacks = list(gc.callbacks)
    yield
    gc.set_threshold(*thresholds)
    gc.callbacks[:] = callbacks
    gc.unfreeze()


def test_tuning_freezes_the_start_up_heap_and_raises_the_thresholds(collector_restored, monkeypatch):
    monkeypatch.delenv("PORTAL_RUNTIME_TUNING", raising=False)
    monkeypatch.delenv("PORTAL_RUNTIME_STATS_PATH", raising=False)

    runtime.runtime_tune()

    assert gc.get_threshold() == (runtime.YOUNG_THRESHOLD, runtime.MIDDLE_THRESHOLD, runtime.OLD_THRESHOLD)
    assert gc.get_freeze_count() > 0


def test_young_collections_stay_short():
    # A young collection's pause grows faster than the generation (66 ms at 50,000 objects, 5 ms at 10,000 on the
    # request path).
    assert runtime.YOUNG_THRESHOLD <= 10_000


class _Connection:
    """Stands for a connection's objects: a reference cycle, as they form."""

    def __init__(self) -> None:
        self.self = self


def test_what_outlives_a_collection_is_frozen_so_no_collection_walks_it_again(collector_restored, monkeypatch):
    monkeypatch.delenv("PORTAL_RUNTIME_TUNING", raising=False)
    monkeypatch.delenv("PORTAL_RUNTIME_STATS_PATH", raising=False)
    runtime.runtime_tune()
    connection = _Connection()
    assert any(candidate is connection for candidate in gc.get_objects())

    gc.collect(1)

    assert not any(candidate is connection for candidate in gc.get_objects())  # in no generation a collection walks


def test_a_due_reclaim_frees_cycles_among_frozen_objects_and_freezes_the_rest_again(collector_restored, monkeypatch):
    import weakref

    monkeypatch.delenv("PORTAL_RUNTIME_TUNING", raising=False)
    monkeypatch.delenv("PORTAL_RUNTIME_STATS_PATH", raising=False)
    runtime.runtime_tune()
    gc.set_threshold(10**9)  # only the collections the test runs
    connection, survivor = _Connection(), _Connection()
    gc.collect(1)  # both frozen
    closed = weakref.ref(connection)
    del connection

    monkeypatch.setenv("PORTAL_GC_RECLAIM_SECONDS", "3600")
    monkeypatch.setattr(runtime, "_last_reclaim", runtime.time.monotonic())
    runtime.memory_release()  # no reclaim due: the frozen cycle is left for the next one
    assert closed() is not None

    runtime.memory_release(full=True)  # asked for (a wave closed as many connections as remain open)

    assert closed() is None
    assert not any(candidate is survivor for candidate in gc.get_objects())  # frozen again


def test_a_young_collection_freezes_nothing_so_a_requests_cycles_in_flight_are_still_collected(
    collector_restored, monkeypatch
):
    # A request in flight while a collection runs holds cycles (request, view, response) that are garbage a moment
    # later; frozen, they would stay until a reclaim. Young collections, which come every few dozen requests, freeze
    # nothing; only the rare middle and full ones freeze what outlived them.
    import weakref

    monkeypatch.delenv("PORTAL_RUNTIME_TUNING", raising=False)
    monkeypatch.delenv("PORTAL_RUNTIME_STATS_PATH", raising=False)
    runtime.runtime_tune()
    gc.set_threshold(10**9)  # only the collections the test runs
    in_flight = _Connection()

    gc.collect(0)

    # Still in a generation a collection walks (frozen objects are in none; their count is no measure here, as other
    # threads of the test process free frozen objects by reference counting meanwhile).
    assert any(candidate is in_flight for candidate in gc.get_objects())
    finished = weakref.ref(in_flight)
    del in_flight
    gc.collect(1)  # the next middle collection frees it
    assert finished() is None


def test_tuning_off_keeps_pythons_defaults(collector_restored, monkeypatch):
    monkeypatch.setenv("PORTAL_RUNTIME_TUNING", "off")
    monkeypatch.delenv("PORTAL_RUNTIME_STATS_PATH", raising=False)
    before = gc.get_threshold()

    runtime.runtime_tune()

    assert gc.get_threshold() == before


def test_every_collection_is_timed_per_generation(collector_restored, tmp_path):
    pauses = runtime.GcPauses(tmp_path / "stats.json")
    gc.callbacks.append(pauses._callback)

    gc.collect(0)
    gc.collect(2)
    summary = json.loads(json.dumps(pauses.summary()))

    assert summary["generations"]["0"]["collections"] >= 1
    assert summary["generations"]["2"]["collections"] >= 1
    assert summary["generations"]["2"]["max_ms"] > 0
    assert summary["generations"]["2"]["max_cpu_ms"] > 0
    assert summary["resident_bytes"] > 0 and summary["allocated_blocks"] > 0


def test_collections_over_the_long_pause_limit_are_listed_with_their_moment(collector_restored, tmp_path, monkeypatch):
    # The fleet benchmark tells which phase of its run (storm, steady state, departure) a long pause fell in.
    import time

    pauses = runtime.GcPauses(tmp_path / "stats.json")
    gc.callbacks.append(pauses._callback)
    monkeypatch.setattr(runtime, "LONG_PAUSE_SECONDS", 3600.0)
    gc.collect(2)
    assert json.loads(json.dumps(pauses.summary()))["long_pauses"] == []

    monkeypatch.setattr(runtime, "LONG_PAUSE_SECONDS", 0.0)  # every collection is "long"
    before = time.time()
    gc.collect(2)
    listed = json.loads(json.dumps(pauses.summary()))["long_pauses"]

    assert [pause["generation"] for pause in listed] == [2]
    assert before <= listed[0]["at"] <= time.time()
    assert listed[0]["ms"] > 0 and listed[0]["collected"] >= 0


def test_memory_release_frees_the_cycles_closed_connections_leave(collector_restored):
    import weakref

    class Connection:
        pass

    gc.set_threshold(10**9)  # no automatic collection comes to free it
    connection = Connection()
    connection.self = connection  # a cycle, as a closed connection's objects form
    alive = weakref.ref(connection)
    del connection
    assert alive() is not None

    runtime.memory_release()

    assert alive() is None


def test_a_reclaim_comes_on_time_in_a_process_that_serves_only_http(collector_restored, monkeypatch):
    # The objects a middle collection froze with a request in flight are freed by the timed reclaim, with no station
    # ever disconnecting.
    import weakref

    monkeypatch.delenv("PORTAL_RUNTIME_TUNING", raising=False)
    monkeypatch.delenv("PORTAL_RUNTIME_STATS_PATH", raising=False)
    monkeypatch.setenv("PORTAL_GC_RECLAIM_SECONDS", "0.2")
    runtime.runtime_tune()
    gc.set_threshold(10**9)  # only the collections the test and the reclaim run
    in_flight = _Connection()
    gc.collect(1)  # frozen with the request in flight
    finished = weakref.ref(in_flight)
    del in_flight
    assert finished() is not None

    deadline = runtime.time.monotonic() + 60
    while finished() is not None and runtime.time.monotonic() < deadline:
        runtime.time.sleep(0.05)

    assert finished() is None
