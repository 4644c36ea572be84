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


def test_young_collections_stay_short_and_older_ones_as_rare_as_before():
    # A young collection's pause grows faster than the generation (66 ms at 50,000 objects, 5 ms at 10,000 on the
    # request path); middle and full collections still wait for 1 and 100 million allocations, as with the earlier
    # 50,000 x 20 x 100.
    assert runtime.YOUNG_THRESHOLD <= 10_000
    assert runtime.YOUNG_THRESHOLD * runtime.MIDDLE_THRESHOLD >= 1_000_000
    assert runtime.YOUNG_THRESHOLD * runtime.MIDDLE_THRESHOLD * runtime.OLD_THRESHOLD >= 100_000_000


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
