"""What every test helper that starts a child process (uvicorn, a Celery worker, redis-server, the Tangle dev node)
shares: how long it waits for the child to come up, and what it says when the child does not.

The wait is generous on purpose. A loaded CI machine (two cores shared with other jobs) has been seen to take well
over 30 s to import the portal in a fresh interpreter; a short wait turns a slow start into a failure that says
nothing. A child that exits early still fails at once; one that never answers fails after the wait, with the end of
what it printed, so the cause (a traceback, a port in use) is in the test report.
"""

from __future__ import annotations

from pathlib import Path

PROCESS_START_TIMEOUT_SECONDS = 120.0
"""How long a helper waits for a child process it started to answer, in seconds."""

OUTPUT_TAIL_CHARACTERS = 4000


class ProcessStartError(RuntimeError):
    """A child process a test started exited, or did not answer within the start wait; the message carries the end
    of its captured output."""


def process_start_failure(
    *, what: str, reason: str, output_path: Path | None, output_offset: int = 0
) -> ProcessStartError:
    """The error to raise when `what` did not start: `reason` and the last characters of its output file (from byte
    `output_offset` on: a log file shared by several runs holds older runs' output before it)."""
    return ProcessStartError(f"{what} {reason}.\n{output_tail(output_path, offset=output_offset)}")


def output_size(output_path: Path) -> int:
    """The size of an output file before a child appends to it (0 when there is none yet): its `output_offset`."""
    try:
        return output_path.stat().st_size
    except OSError:
        return 0


def output_tail(output_path: Path | None, *, offset: int = 0, limit: int = OUTPUT_TAIL_CHARACTERS) -> str:
    """The last `limit` characters a child wrote to `output_path` after byte `offset`, introduced by where the whole
    output is."""
    if output_path is None:
        return "Its output was not captured."
    try:
        with output_path.open("rb") as output:
            output.seek(offset)
            raw = output.read()
    except OSError as error:
        return f"Its output ({output_path}) cannot be read: {error}."
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        return f"It printed nothing ({output_path})."
    shown = text[-limit:]
    cut = " (end)" if len(text) > limit else ""
    return f"Its output{cut} ({output_path}):\n{shown}"
