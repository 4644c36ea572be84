"""Calls of one kind arriving together are done in one database thread call (`machines.ocpp.database.Coalesced`):
a restart storm's handshakes and BootNotifications in batches, each caller with its own answer."""

from __future__ import annotations

import asyncio

import pytest

from machines.ocpp.database import Coalesced


class _Writer:
    """Records each batch it is given and answers every item with its double."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        return [item * 2 for item in items]


def test_calls_arriving_together_are_one_batch_and_each_gets_its_own_answer():
    writer = _Writer()
    coalesced = Coalesced(writer, size=100, parallel=1)

    async def run() -> tuple[list[int], int]:
        together = await asyncio.gather(*(coalesced(item) for item in range(10)))
        alone = await coalesced(21)
        return together, alone

    together, alone = asyncio.run(run())

    assert together == [item * 2 for item in range(10)]
    assert alone == 42
    assert writer.batches == [list(range(10)), [21]]


def test_a_batch_holds_at_most_size_items_and_the_rest_wait_for_the_next():
    writer = _Writer()
    coalesced = Coalesced(writer, size=3, parallel=1)

    async def run() -> list[int]:
        return await asyncio.gather(*(coalesced(item) for item in range(7)))

    assert asyncio.run(run()) == [0, 2, 4, 6, 8, 10, 12]
    assert writer.batches == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_is_done():
    calls: list[list[str]] = []

    def write(items: list[str]) -> list[str]:
        calls.append(list(items))
        if "bad" in items:
            raise RuntimeError("the database refused")
        return [item.upper() for item in items]

    coalesced = Coalesced(write, size=100, parallel=1)

    async def run() -> tuple[list[object], str]:
        failed = await asyncio.gather(coalesced("bad"), coalesced("good"), return_exceptions=True)
        return failed, await coalesced("later")

    failed, later = asyncio.run(run())

    assert [str(error) for error in failed] == ["the database refused"] * 2
    assert all(isinstance(error, RuntimeError) for error in failed)
    assert later == "LATER"
    assert calls == [["bad", "good"], ["later"]]


def test_a_caller_that_gave_up_is_left_out_of_the_next_batch():
    writer = _Writer()
    coalesced = Coalesced(writer, size=100, parallel=1)

    async def run() -> list[int]:
        first = asyncio.ensure_future(coalesced(1))
        await asyncio.sleep(0)  # the first batch ([1]) is under way; the next calls wait for the next batch
        given_up = asyncio.ensure_future(coalesced(2))
        kept = asyncio.ensure_future(coalesced(3))
        await asyncio.sleep(0)
        given_up.cancel()
        return [await first, await kept]

    assert asyncio.run(run()) == [2, 6]
    assert writer.batches == [[1], [3]]


@pytest.mark.parametrize("parallel", [1, 2])
def test_every_call_is_answered_whatever_the_number_of_batches_running(parallel):
    writer = _Writer()
    coalesced = Coalesced(writer, size=4, parallel=parallel)

    async def run() -> list[int]:
        return await asyncio.gather(*(coalesced(item) for item in range(30)))

    assert asyncio.run(run()) == [item * 2 for item in range(30)]
    assert sorted(item for batch in writer.batches for item in batch) == list(range(30))
    assert max(len(batch) for batch in writer.batches) <= 4
