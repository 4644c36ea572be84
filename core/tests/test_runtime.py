"""The server process's collector settings and the pause measurement the fleet benchmark reads."""

from __future__ import annotations

import gc
import json
import os

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
    assert runtime.YOUNG_THRESHOLD <= 5_000
    # A middle collection walks about MIDDLE_THRESHOLD young generations' survivors: in a restart storm most of them.
    assert runtime.MIDDLE_THRESHOLD * runtime.YOUNG_THRESHOLD <= 10_000


def _tuned_without_automatic_collections(monkeypatch: pytest.MonkeyPatch) -> None:
    """`runtime_tune`'s settings with no reclaim due, then a young threshold no count reaches: only the collections the
    test runs (and the timed ones, once the test sets the tuned thresholds again)."""
    monkeypatch.delenv("PORTAL_RUNTIME_TUNING", raising=False)
    monkeypatch.delenv("PORTAL_RUNTIME_STATS_PATH", raising=False)
    monkeypatch.setenv("PORTAL_GC_RECLAIM_SECONDS", "3600")
    monkeypatch.setattr(runtime, "_last_reclaim", runtime.time.monotonic())
    runtime.runtime_tune()
    gc.set_threshold(10**9)


class _Connection:
    """Stands for a connection's objects: a reference cycle, as they form."""

    def __init__(self) -> None:
        self.self = self


def _in_generation(thing: object, generation: int) -> bool:
    return any(candidate is thing for candidate in gc.get_objects(generation=generation))


def test_what_outlives_a_middle_collection_reaches_the_oldest_generation_which_no_automatic_collection_walks(
    collector_restored, monkeypatch
):
    monkeypatch.delenv("PORTAL_RUNTIME_TUNING", raising=False)
    monkeypatch.delenv("PORTAL_RUNTIME_STATS_PATH", raising=False)
    runtime.runtime_tune()
    gc.set_threshold(10**9)  # only the collections the test runs (the timed ones leave other thresholds alone)
    connection = _Connection()
    assert not _in_generation(connection, 2)

    gc.collect(1)

    assert _in_generation(connection, 2)
    # Python collects the oldest generation once its threshold of middle collections is passed: never, here.
    assert gc.get_threshold()[2] >= 2**30


def test_the_start_up_heap_stays_frozen_through_a_reclaim(collector_restored, monkeypatch):
    # A reclaim walks what outlived a middle collection, not the start-up heap (0.5 to 1 s when the last of 5,000
    # stations had left, when the start-up heap was unfrozen for it).
    monkeypatch.delenv("PORTAL_RUNTIME_TUNING", raising=False)
    monkeypatch.delenv("PORTAL_RUNTIME_STATS_PATH", raising=False)
    start_up = _Connection()
    runtime.runtime_tune()
    assert not any(_in_generation(start_up, generation) for generation in (0, 1, 2))  # frozen
    walked: list[bool] = []

    def look(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            walked.append(_in_generation(start_up, 2))

    gc.callbacks.append(look)
    runtime.memory_reclaim()

    assert walked == [False]  # not among what the reclaim's collection walked
    assert not any(_in_generation(start_up, generation) for generation in (0, 1, 2))


def test_a_due_reclaim_frees_cycles_in_the_oldest_generation_which_a_release_leaves(collector_restored, monkeypatch):
    import weakref

    monkeypatch.delenv("PORTAL_RUNTIME_TUNING", raising=False)
    monkeypatch.delenv("PORTAL_RUNTIME_STATS_PATH", raising=False)
    runtime.runtime_tune()
    gc.set_threshold(10**9)  # only the collections the test runs
    connection, survivor = _Connection(), _Connection()
    gc.collect(1)  # both in the oldest generation
    closed = weakref.ref(connection)
    del connection

    monkeypatch.setenv("PORTAL_GC_RECLAIM_SECONDS", "3600")
    monkeypatch.setattr(runtime, "_last_reclaim", runtime.time.monotonic())
    runtime.memory_release()  # no reclaim due: the frozen cycle is left for the next one
    assert closed() is not None

    runtime.memory_release(full=True)  # asked for (a wave closed as many connections as remain open)

    assert closed() is None
    assert _in_generation(survivor, 2)


def test_what_a_young_collection_leaves_is_collected_by_the_next_middle_collection(collector_restored, monkeypatch):
    # A request in flight while a collection runs holds cycles (request, view, response) that are garbage a moment
    # later; in the oldest generation, they would stay until a reclaim. What a young collection leaves is walked again
    # by the next middle collection.
    import weakref

    monkeypatch.delenv("PORTAL_RUNTIME_TUNING", raising=False)
    monkeypatch.delenv("PORTAL_RUNTIME_STATS_PATH", raising=False)
    runtime.runtime_tune()
    gc.set_threshold(10**9)  # only the collections the test runs
    in_flight = _Connection()

    gc.collect(0)

    assert _in_generation(in_flight, 1)
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


def test_a_release_frees_cycles_a_young_collection_left_without_walking_the_oldest_generation(
    collector_restored, monkeypatch
):
    import weakref

    _tuned_without_automatic_collections(monkeypatch)
    connection = _Connection()
    gc.collect(0)  # in the middle generation, as a connection closed between collections is
    closed = weakref.ref(connection)
    del connection
    collected: list[int] = []
    gc.callbacks.append(lambda phase, info: collected.append(info["generation"]) if phase == "start" else None)

    runtime.memory_release()

    assert closed() is None
    assert collected == [1]


def test_a_reclaim_comes_on_time_in_a_process_that_serves_only_http(collector_restored, monkeypatch):
    # The objects a middle collection moved to the oldest generation with a request in flight are freed by the timed
    # reclaim, with no station ever disconnecting.
    import weakref

    monkeypatch.delenv("PORTAL_RUNTIME_TUNING", raising=False)
    monkeypatch.delenv("PORTAL_RUNTIME_STATS_PATH", raising=False)
    monkeypatch.setenv("PORTAL_GC_RECLAIM_SECONDS", "0.2")
    runtime.runtime_tune()
    gc.set_threshold(10**9)  # only the collections the test and the reclaim run
    in_flight = _Connection()
    gc.collect(1)  # to the oldest generation with the request in flight
    finished = weakref.ref(in_flight)
    del in_flight
    assert finished() is not None

    deadline = runtime.time.monotonic() + 60
    while finished() is not None and runtime.time.monotonic() < deadline:
        runtime.time.sleep(0.05)

    assert finished() is None


def test_young_and_middle_collections_also_come_by_time_while_old_objects_are_freed_as_fast_as_new_ones_made(
    collector_restored, monkeypatch
):
    # Python counts the objects made minus those freed since the last young collection; a station's wait for its next
    # frame (an old object freed as a new one is made) keeps that count low while the young generation grows. A cycle
    # made in such a balance is still found and freed, by the timed collections, with no automatic collection.
    import weakref

    _tuned_without_automatic_collections(monkeypatch)
    old: list[list[int] | None] = [[index] for index in range(2 * 1000)]
    gc.collect(1)  # the waits of an hour ago, in the oldest generation
    automatic: list[int] = []
    gc.callbacks.append(lambda phase, info: automatic.append(info["generation"]) if phase == "start" else None)
    gc.collect(0)
    automatic.clear()
    garbage = []
    for index in range(0, len(old), 2):  # old objects freed as new ones are made: the count does not grow
        old[index] = old[index + 1] = None
        garbage.append(weakref.ref(_Connection()))
    assert automatic == [] and gc.get_count()[0] < runtime.YOUNG_THRESHOLD // 10

    # Back to the tuned thresholds, under which the timed collections run; a count that does not grow starts none.
    gc.set_threshold(runtime.YOUNG_THRESHOLD, runtime.MIDDLE_THRESHOLD, runtime.OLD_THRESHOLD)
    deadline = runtime.time.monotonic() + 60
    while (any(ref() is not None for ref in garbage) or 1 not in automatic) and runtime.time.monotonic() < deadline:
        runtime.time.sleep(0.02)

    assert all(ref() is None for ref in garbage)
    assert 1 in automatic  # middle collections come too


def test_a_young_generation_that_fills_within_the_interval_is_collected_before_it_ends(collector_restored, monkeypatch):
    # Thousands of stations dropping off at once: each disconnect's waits are made while the connections they close
    # are freed, so Python's count stays low while the young generation fills faster than the interval. The timed
    # thread collects it once it holds YOUNG_THRESHOLD objects, with no interval due (an hour here).
    import weakref

    monkeypatch.setattr(runtime, "YOUNG_INTERVAL_SECONDS", 3600.0)
    _tuned_without_automatic_collections(monkeypatch)
    old: list[list[int] | None] = [[index] for index in range(4 * runtime.YOUNG_THRESHOLD)]
    gc.collect(1)  # the connections that close, in the oldest generation
    collections: list[int] = []
    gc.callbacks.append(lambda phase, info: collections.append(info["generation"]) if phase == "start" else None)
    gc.collect(0)
    collections.clear()
    waits = []
    for index in range(0, len(old), 2):  # each disconnect's wait made as a closed connection's objects are freed
        old[index] = old[index + 1] = None
        waits.append(_Connection())
    assert collections == [] and gc.get_count()[0] < runtime.YOUNG_THRESHOLD // 10
    assert runtime._young_generation_size() >= runtime.YOUNG_THRESHOLD
    in_flight = weakref.ref(waits[0])

    gc.set_threshold(runtime.YOUNG_THRESHOLD, runtime.MIDDLE_THRESHOLD, runtime.OLD_THRESHOLD)
    deadline = runtime.time.monotonic() + 60
    while not collections and runtime.time.monotonic() < deadline:
        runtime.time.sleep(0.02)

    assert collections, "no collection came before the hour's interval"
    assert runtime._young_generation_size() < runtime.YOUNG_THRESHOLD
    assert in_flight() is not None  # what is still in flight lives on


def test_the_timed_collections_leave_a_process_with_other_thresholds_alone(collector_restored, monkeypatch):
    import weakref

    _tuned_without_automatic_collections(monkeypatch)
    gc.collect(0)
    cycle = weakref.ref(_Connection())

    runtime.time.sleep(10 * runtime.YOUNG_INTERVAL_SECONDS)

    assert cycle() is not None


def test_a_release_hands_free_memory_back_to_jemalloc_and_glibc(collector_restored, monkeypatch):
    """The server allocates from jemalloc (core/serving.py), which otherwise gives free pages back only as later
    allocations pass by: a release after a wave of disconnects purges it as well as trimming glibc's heap."""
    handed_back = []
    monkeypatch.setattr(runtime, "_malloc_trim", lambda: lambda pad: handed_back.append(("glibc", pad)))
    monkeypatch.setattr(runtime, "jemalloc_purge_function", lambda: lambda: handed_back.append(("jemalloc",)))

    runtime.memory_release()

    assert handed_back == [("glibc", 0), ("jemalloc",)]


def test_without_jemalloc_there_is_nothing_to_purge():
    assert runtime.jemalloc_purge_function() is None  # the test process runs on Python's allocator
    assert runtime.allocator_name() == (os.environ.get("PYTHONMALLOC") or "pymalloc")
