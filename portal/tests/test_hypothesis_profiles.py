"""The Hypothesis profiles of the root conftest: derandomized examples under CI, failing examples printed in full."""

from __future__ import annotations

import os

import pytest
from hypothesis import core, given, settings
from hypothesis import strategies as st
from hypothesis.vendor import pretty

from conftest import hypothesis_profile_name


@pytest.mark.parametrize(
    ("environ", "profile"),
    [
        ({}, "dev"),
        ({"CI": ""}, "dev"),
        ({"CI": "false"}, "dev"),
        ({"CI": "0"}, "dev"),
        ({"CI": "true"}, "ci"),
        ({"CI": "1"}, "ci"),
        ({"CI": "true", "HYPOTHESIS_PROFILE": "dev"}, "dev"),
        ({"HYPOTHESIS_PROFILE": "ci"}, "ci"),
    ],
)
def test_the_ci_variable_selects_the_ci_profile(environ, profile):
    assert hypothesis_profile_name(environ) == profile


def test_the_loaded_profile_follows_the_environment():
    expected = settings.get_profile(hypothesis_profile_name(dict(os.environ)))
    assert (settings.default.derandomize, settings.default.database) == (expected.derandomize, expected.database)
    assert settings.default.deadline is None
    assert settings.default.print_blob is True


def test_ci_runs_the_same_examples_every_time_without_a_deadline():
    ci = settings.get_profile("ci")
    assert (ci.derandomize, ci.database, ci.deadline, ci.print_blob) == (True, None, None, True)

    def drawn() -> list[int]:
        seen: list[int] = []

        @settings(ci, max_examples=20)
        @given(st.integers())
        def record(value: int) -> None:
            seen.append(value)

        record()
        return seen

    assert drawn() == drawn()


def test_a_failing_example_is_printed_with_its_values():
    # schemathesis replaces Hypothesis's printer with one that prints nothing; the root conftest puts it back.
    assert core.RepresentationPrinter is pretty.RepresentationPrinter

    @settings(database=None, derandomize=True)
    @given(st.integers(min_value=0))
    def fails_from_ten(value: int) -> None:
        assert value < 10

    with pytest.raises(AssertionError) as raised:
        fails_from_ten()
    assert "value=10," in "\n".join(raised.value.__notes__)
