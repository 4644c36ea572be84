"""The server process's garbage collector and memory allocator, set for many long-lived connections, and measured.

- `runtime_tune()` runs once the application is loaded: a full collection, then `gc.freeze()` moves every object
  that exists after start-up (modules, classes, URL patterns, templates: most of the heap) to the permanent
  generation, which no collection scans again. Then no automatic collection of the oldest generation runs any more
  (`OLD_THRESHOLD`): an object that outlived a middle collection belongs to a connection or a cache and lives on, and
  each collection of the oldest generation would walk all of them again (with 5,000 stations connected one walked
  2.8 million blocks, 1.4 s during which no station was answered). So no automatic collection walks more than what
  `MIDDLE_THRESHOLD` young collections left, however many stations are connected. The middle generation is kept
  small (`MIDDLE_THRESHOLD` young collections): in a restart storm most of what a young collection sees survives it
  (connections being set up), so a middle collection walks nearly `MIDDLE_THRESHOLD * YOUNG_THRESHOLD` objects. The
  young generation is kept at 5,000: its pause grows faster than its size (66 ms at 50,000 objects, 5 ms at 10,000
  over a mix of credit-check answers and lease quotes), and with 5,000 stations connected most of a young generation
  is cyclic garbage whose freeing counts in the pause (bench/stations.py on a busy 2-core machine: young collections
  of 10,000 up to 65 ms of CPU, middle ones of three young generations up to 121 ms; hence 5,000 and two). Young
  collections also come every `YOUNG_INTERVAL_SECONDS`, from a thread of their own (every `MIDDLE_THRESHOLD`-th a
  middle one). Python starts one when the objects made since the last outnumber those freed by `YOUNG_THRESHOLD`,
  and while old objects are freed as fast as new ones are made (a station's wait for its next frame, which outlived
  collections, freed as the next wait begins) that count stays low while the young generation grows without bound:
  with 5,000 stations connected, middle collections found up to 166,000 objects and took up to 150 ms of CPU
  (bench/stations.py, the generations' objects counted at each collection). By time, none finds more than the
  objects of a tenth of a second. That is still too many in a burst: when thousands of stations drop off at once,
  each disconnect's waits are made within one turn of the event loop while the connections they close are freed,
  and a middle collection found 75,000 objects, 48 ms (bench/stations.py, 3,477 disconnects in flight). So the
  thread also looks every `YOUNG_POLL_SECONDS` and collects as soon as the young generation holds `YOUNG_THRESHOLD`
  objects (counting them costs 0.3 ms at 70,000, 10 µs at 3,000): a collection walks what the event loop made
  between two looks, at most twice over (later than 10 ms apart when the thread waits for a core and the interpreter
  lock: in a 5,000-station run, a young collection still found about 48,000 objects, 36 ms, before the disconnects
  waited on one timer, machines/ocpp/consumer.py). Objects in the oldest generation are still freed by reference
  counting when the last reference goes (a closed connection's objects are: the consumer breaks its cycles,
  machines/ocpp/consumer.py); only cyclic garbage among them waits for `memory_reclaim()`. Survivors used to be
  frozen as well (after every middle collection); then a reclaim had to unfreeze and walk the start-up heap too
  (0.5 to 1 s when the last of 5,000 stations had left), where now it walks what is still alive outside it and the
  cycles it frees.
- `memory_release()` collects what closed connections left in the young and middle generations and hands the
  allocator's free memory back to the system (glibc's `malloc_trim`; jemalloc's purge of every arena when the server
  runs on it, core/serving.py).
- `memory_reclaim()`: the one collection of the oldest generation, for cycles left among the objects that outlived a
  middle collection (objects in flight while it ran: a request's in a process that serves HTTP; a handshake's HTTP
  protocol, which referred to itself, is freed at the websocket hand-over, core/serving.py): a pause as long as
  walking everything that outlived a middle collection since start-up and is still alive, the start-up heap excepted.
  It runs once a wave of disconnects that closed at least as many connections as remain open is over
  (machines/ocpp), so it walks no more than twice what it frees, and otherwise every `PORTAL_GC_RECLAIM_SECONDS`
  (default an hour, from the timed collections' thread, whether stations disconnected or not); never on the path of
  a message.
- With `PORTAL_RUNTIME_STATS_PATH` set (benchmarks), every collection's pause is timed through `gc.callbacks` and a
  summary (pauses per generation, the longest, resident memory) is written every second to that path with
  `.<pid>.json` appended, one file per server process.
"""

from __future__ import annotations

import array
import collections
import ctypes
import ctypes.util
import functools
import gc
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# An automatic collection walks at most the young and middle generations (the oldest is left to `memory_reclaim`):
# about YOUNG_THRESHOLD and MIDDLE_THRESHOLD * YOUNG_THRESHOLD objects; fewer means shorter and more frequent pauses.
# Short-lived objects of a message mostly die before a collection sees them.
YOUNG_THRESHOLD = 5_000
MIDDLE_THRESHOLD = 2
# Middle collections before an automatic collection of the oldest generation: never (see the module's description).
OLD_THRESHOLD = 2**30
# Young collections also come by time (see the module's description): the allocation count alone lets the young
# generation grow without bound while old objects are freed as fast as new ones are made.
YOUNG_INTERVAL_SECONDS = 0.1
# ... and sooner when the young generation holds YOUNG_THRESHOLD objects, which the thread looks at this often.
YOUNG_POLL_SECONDS = 0.01
RECLAIM_SECONDS_DEFAULT = 3600.0
LONG_PAUSE_SECONDS = 0.05  # a collection longer than this is listed on its own in the statistics (GcPauses)
LONG_PAUSES_KEPT = 1000
_last_reclaim = time.monotonic()


def runtime_tune() -> None:
    """Freezes what start-up made and sets the collection thresholds (see the module's description).
    `PORTAL_RUNTIME_TUNING=off` keeps Python's defaults (the benchmarks' comparison)."""
    if os.environ.get("PORTAL_RUNTIME_TUNING", "").strip().lower() != "off":
        gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
        _collector_thread_start()
    path = os.environ.get("PORTAL_RUNTIME_STATS_PATH", "").strip()
    if path:
        GcPauses(Path(f"{path}.{os.getpid()}.json")).start()


def _tuned() -> bool:
    """Whether the oldest generation is left to `memory_reclaim` (`runtime_tune`; tests restore Python's settings)."""
    return gc.get_threshold()[2] == OLD_THRESHOLD


def memory_release(*, full: bool = False) -> None:
    """Collects what closed connections left in the young and middle generations (what reached the oldest is freed by
    reference counting, or by `memory_reclaim`) and returns the freed heap to the system (`_heap_trim`; elsewhere
    only the collection). `full`, or a reclaim due by time, runs `memory_reclaim` instead."""
    if full or time.monotonic() - _last_reclaim >= _reclaim_seconds():
        memory_reclaim()
        return
    gc.collect(1 if _tuned() else 2)
    _heap_trim()


def memory_reclaim() -> None:
    """A collection of every generation, so cycles left among objects that outlived a middle collection are freed,
    then the freed heap returned to the system. The start-up heap stays frozen: the pause is as long as walking what
    outlived a middle collection since start-up and is still alive. See `memory_release` for when it runs."""
    global _last_reclaim
    gc.collect()
    _last_reclaim = time.monotonic()
    _heap_trim()


_collector_thread: threading.Thread | None = None


def _collector_thread_start() -> None:
    """Starts the thread that runs the timed collections: a young one every `YOUNG_INTERVAL_SECONDS`, or as soon as
    the young generation holds `YOUNG_THRESHOLD` objects (a middle one every `MIDDLE_THRESHOLD`-th time), while the
    thresholds are `runtime_tune`'s, and `memory_reclaim` whenever none
    ran for `PORTAL_GC_RECLAIM_SECONDS`, disconnects or not: in a process that serves only HTTP a few hundred objects
    of the request in flight reach the oldest generation at each middle collection, and without a reclaim their
    cycles would add up for as long as it runs."""
    global _collector_thread
    if _collector_thread is not None and _collector_thread.is_alive():
        return

    def run() -> None:
        young_collections = 0
        last_collection = time.monotonic()
        while True:
            time.sleep(YOUNG_POLL_SECONDS)
            now = time.monotonic()
            if _last_reclaim + _reclaim_seconds() <= now:
                if _tuned():
                    memory_reclaim()
                    last_collection = now
                continue  # tuning undone (tests): Python's own collections of the oldest generation run again
            if gc.get_threshold() != (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD):
                continue
            if now - last_collection >= YOUNG_INTERVAL_SECONDS or _young_generation_size() >= YOUNG_THRESHOLD:
                young_collections += 1
                gc.collect(1 if young_collections % MIDDLE_THRESHOLD == 0 else 0)
                last_collection = time.monotonic()

    _collector_thread = threading.Thread(target=run, name="gc-timed", daemon=True)
    _collector_thread.start()


def _young_generation_size() -> int:
    """The objects in the young generation. Python's own count (`gc.get_count()[0]`) is those made minus those freed
    since the last collection, which stays low while freed old objects make room for new ones that live on."""
    return len(gc.get_objects(generation=0))


def _reclaim_seconds() -> float:
    try:
        return float(os.environ.get("PORTAL_GC_RECLAIM_SECONDS", "") or RECLAIM_SECONDS_DEFAULT)
    except ValueError:
        return RECLAIM_SECONDS_DEFAULT


def _heap_trim() -> None:
    """Hands the allocator's free memory back to the system: glibc's heap (`malloc_trim`), and jemalloc's when the
    process runs on it (core/serving.py), which otherwise gives back free pages only as later allocations pass by."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    purge = jemalloc_purge_function()
    if purge is not None:
        purge()


def allocator_name() -> str:
    """What Python's memory comes from in this process: "jemalloc" (core/serving.py), else Python's `PYTHONMALLOC`
    setting ("pymalloc" by default, "malloc" for the C library's)."""
    if jemalloc_purge_function() is not None:
        return "jemalloc"
    return os.environ.get("PYTHONMALLOC") or "pymalloc"


# jemalloc's name for "every arena" (MALLCTL_ARENAS_ALL) in `arena.<i>.purge`.
_JEMALLOC_PURGE_ALL = b"arena.4096.purge"


@functools.cache
def jemalloc_purge_function() -> Callable[[], int] | None:
    """A function that makes jemalloc give every free page of every arena back to the system (0 when it did), when
    jemalloc is this process's allocator; None otherwise."""
    try:
        mallctl = ctypes.CDLL(None).mallctl  # only jemalloc defines it; loaded first, its symbols come first
    except AttributeError:
        return None
    mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    mallctl.restype = ctypes.c_int
    return functools.partial(mallctl, _JEMALLOC_PURGE_ALL, None, None, None, 0)


def _malloc_trim() -> Any:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    return getattr(ctypes.CDLL(name), "malloc_trim", None)


def resident_bytes() -> int:
    """This process's resident memory (Linux), 0 where /proc is missing."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


class GcPauses:
    """Times every collection (gc.callbacks) and writes a summary to `path` every second."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Seconds per collection, as C doubles in one buffer each: a float object per collection, made all along the
        # run, would stay among the connections' objects and keep Python's allocator from giving their memory back,
        # the very figure benchmarks read next to these.
        self.pauses: dict[int, array.array[float]] = {generation: array.array("d") for generation in range(3)}
        # The collector's own CPU time per collection: on a busy machine a pause's wall time also counts the time
        # the process waited for a core, which is not the collector's doing.
        self.cpu: dict[int, array.array[float]] = {generation: array.array("d") for generation in range(3)}
        # Every collection over 50 ms (the latest `LONG_PAUSES_KEPT`): when it ran, so a benchmark can tell which
        # phase of its run it fell in, and what it found.
        self.long_pauses: collections.deque[dict[str, float]] = collections.deque(maxlen=LONG_PAUSES_KEPT)
        self._started = 0.0
        self._started_cpu = 0.0
        self.frozen_objects = gc.get_freeze_count()

    def start(self) -> None:
        gc.callbacks.append(self._callback)
        threading.Thread(target=self._write_forever, name="gc-pauses", daemon=True).start()

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started, self._started_cpu = time.perf_counter(), time.thread_time()
        else:
            pause = time.perf_counter() - self._started
            cpu = time.thread_time() - self._started_cpu
            self.pauses[info["generation"]].append(pause)
            self.cpu[info["generation"]].append(cpu)
            if pause > LONG_PAUSE_SECONDS:
                self.long_pauses.append(
                    {
                        "at": time.time(),
                        "generation": info["generation"],
                        "ms": pause * 1000,
                        "cpu_ms": cpu * 1000,
                        "collected": info.get("collected", 0),
                    }
                )

    def summary(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "resident_bytes": resident_bytes(),
            # Python's live memory blocks: back near the start-up count after disconnects while resident memory is not
            # means the allocator keeps freed memory; still high means objects are kept alive.
            "allocated_blocks": sys.getallocatedblocks(),
            "allocator": allocator_name(),
            "thresholds": gc.get_threshold(),
            # Counted when frozen, not here: gc.get_freeze_count() walks every frozen object, tens of milliseconds of
            # the server's CPU each second on a heap of a million objects, which the benchmark would count as the
            # cost of the OCPP messages.
            "frozen_objects": self.frozen_objects,
            "generations": {
                str(generation): {
                    "collections": len(pauses),
                    "total_ms": sum(pauses) * 1000,
                    "max_ms": max(pauses, default=0.0) * 1000,
                    "over_50_ms": sum(1 for pause in pauses if pause > LONG_PAUSE_SECONDS),
                    "max_cpu_ms": max(cpu, default=0.0) * 1000,
                    "cpu_over_50_ms": sum(1 for seconds in cpu if seconds > LONG_PAUSE_SECONDS),
                }
                for generation, pauses, cpu in ((g, p[:], self.cpu[g][:]) for g, p in self.pauses.items())
            },
            "long_pauses": list(self.long_pauses),
        }

    def _write_forever(self) -> None:
        while True:
            time.sleep(1)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(self.summary()))
            temporary.replace(self.path)
