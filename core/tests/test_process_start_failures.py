"""A child process a test starts and that does not come up fails the test with what it printed, not with a bare
"did not start in time"."""

from __future__ import annotations

import os

import pytest

from core.testing import PROCESS_START_TIMEOUT_SECONDS, ProcessStartError, output_size, output_tail
from machines.testing import asgi_server


def test_the_start_wait_is_generous():
    assert PROCESS_START_TIMEOUT_SECONDS >= 120


def test_a_server_that_exits_at_start_fails_with_its_output(tmp_path):
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.no_such_settings"}
    log_path = tmp_path / "server.log"
    log_path.write_text("an earlier run's line\n")

    with pytest.raises(ProcessStartError) as failure, asgi_server(environment=environment, log_path=log_path):
        pass  # pragma: no cover - the server never answers

    message = str(failure.value)
    assert "The ASGI server exited with" in message
    assert "portal.settings.no_such_settings" in message  # the traceback it printed
    assert "an earlier run's line" not in message  # only this run's output


def test_the_tail_of_an_output_file_starts_at_the_offset_and_keeps_the_end(tmp_path):
    output = tmp_path / "out.log"
    assert output_size(output) == 0
    output.write_text("old\n")
    offset = output_size(output)
    with output.open("a") as log:
        log.write("x" * 5000 + "last line\n")

    tail = output_tail(output, offset=offset, limit=100)

    assert tail.endswith("x" * 90 + "last line\n") and "old" not in tail
    assert str(output) in tail and "(end)" in tail
    assert output_tail(None) == "Its output was not captured."
