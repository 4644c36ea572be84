"""The server process's garbage collector and memory allocator, set for many long-lived connections, and measured.

- `runtime_tune()` runs once the application is loaded: a full collection, then `gc.freeze()` moves every object
  that exists after start-up (modules, classes, URL patterns, templates: most of the heap) to the permanent
  generation, which no collection scans again; and the young generation's threshold goes from 700 to
  `YOUNG_THRESHOLD` allocations, so that the short-lived objects of a request or an OCPP message mostly die before a
  collection sees them instead of being promoted to the old generations (whose collections are the long pauses).
  The young generation is not made larger than that: its collection's pause grows faster than its size (what a
  collection looks at no longer fits the processor's caches). Over a mix of credit-check answers and lease quotes
  (some 200 objects per request left in reference cycles, freed only by a collection) a young collection took
  5 ms at 10,000 and 66 ms at 50,000, and all young collections together took 67 ms against 169 ms: a pause of
  66 ms every few hundred requests is a request's whole latency budget (issue 20). The middle threshold is raised
  as the young one is lowered, so that middle and full collections come after as many allocations as before
  (1 million and 100 million): a middle collection looks at everything that outlived a young one since the last,
  the heap a process grows while it warms up included, and at 200,000 allocations (young 10,000 x middle 20) the
  first ones took up to 130 ms of CPU in the open-loop benchmark's web processes.
- `memory_release()` collects what closed connections left and hands the allocator's free memory back to the system
  (glibc's `malloc_trim`): without it, what thousands of closed websocket connections held stays in the process (a
  connection's objects form cycles, and with the raised thresholds no collection came to free them).
- With `PORTAL_RUNTIME_STATS_PATH` set (benchmarks), every collection's pause is timed through `gc.callbacks` and a
  summary (pauses per generation, the longest, resident memory) is written every second to that path with
  `.<pid>.json` appended, one file per server process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

YOUNG_THRESHOLD = 10_000
MIDDLE_THRESHOLD = 100
OLD_THRESHOLD = 100


def runtime_tune() -> None:
    """Freezes what start-up made and raises the collection thresholds (see the module's description).
    `PORTAL_RUNTIME_TUNING=off` keeps Python's defaults (the benchmarks' comparison)."""
    if os.environ.get("PORTAL_RUNTIME_TUNING", "").strip().lower() != "off":
        gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    path = os.environ.get("PORTAL_RUNTIME_STATS_PATH", "").strip()
    if path:
        GcPauses(Path(f"{path}.{os.getpid()}.json")).start()


def memory_release() -> None:
    """Collects what closed connections left (their objects form reference cycles, which the raised thresholds leave
    for a later collection) and returns the freed heap to the system (glibc's `malloc_trim`; elsewhere only the
    collection). A full collection is a pause of its own: call it once after many connections closed, not per
    request."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


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
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        # The collector's own CPU time per collection: on a busy machine a pause's wall time also counts the time
        # the process waited for a core, which is not the collector's doing.
        self.cpu: dict[int, list[float]] = {0: [], 1: [], 2: []}
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
            self.pauses[info["generation"]].append(time.perf_counter() - self._started)
            self.cpu[info["generation"]].append(time.thread_time() - self._started_cpu)

    def summary(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "resident_bytes": resident_bytes(),
            # Python's live memory blocks: back near the start-up count after disconnects while resident memory is not
            # means the allocator keeps freed memory; still high means objects are kept alive.
            "allocated_blocks": sys.getallocatedblocks(),
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
                    "over_50_ms": sum(1 for pause in pauses if pause > 0.05),
                    "max_cpu_ms": max(cpu, default=0.0) * 1000,
                    "cpu_over_50_ms": sum(1 for seconds in cpu if seconds > 0.05),
                }
                for generation, pauses, cpu in ((g, list(p), list(self.cpu[g])) for g, p in self.pauses.items())
            },
        }

    def _write_forever(self) -> None:
        while True:
            time.sleep(1)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(self.summary()))
            temporary.replace(self.path)
