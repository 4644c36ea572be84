"""Beat stays single across hosts: the lease in Redis and the per-entry claim (portal/beat.py)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings

from portal import beat
from portal.celery import app


@pytest.fixture
def client() -> redis.Redis:
    return redis.Redis.from_url(settings.BEAT_LOCK_REDIS_URL)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, client: redis.Redis):
    """Keys of this test only, removed afterwards."""
    prefix = f"test-beat-{uuid.uuid4().hex}"
    monkeypatch.setattr(beat, "LEASE_KEY", f"{prefix}:leader")
    monkeypatch.setattr(beat, "CLAIM_KEY", prefix + ":sent:{name}")
    yield prefix
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


class RecordingScheduler(beat.LeaderScheduler):
    """The scheduler with Celery's publishing replaced by a list of what it would have sent."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.sent: list[str] = []
        super().__init__(*args, **kwargs)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        self.sent.append(entry.name)


def scheduler(tmp_path: Path, name: str) -> RecordingScheduler:
    """A scheduler whose only entry, due now, is sent every 10 s."""
    made = RecordingScheduler(app=app, schedule_filename=str(tmp_path / name), lazy=False)
    made.schedule.clear()
    made.update_from_dict({"sweep": {"task": "payments.outbox_sweep", "schedule": 10.0}})
    made.schedule["sweep"].last_run_at = made.schedule["sweep"].last_run_at.replace(year=2000)
    made._heap = None
    return made


def test_the_settings_use_the_leader_scheduler() -> None:
    assert settings.CELERY_BEAT_SCHEDULER == "portal.beat:LeaderScheduler"
    assert settings.BEAT_LOCK_REDIS_URL == settings.REDIS_URL


def test_one_holder_at_a_time_and_the_lease_passes_on_release(client: redis.Redis, keys: str) -> None:
    first = beat.Lease(client=client, key=f"{keys}:leader", seconds=30, holder="host-a")
    second = beat.Lease(client=client, key=f"{keys}:leader", seconds=30, holder="host-b")

    assert first.hold() is True
    assert second.hold() is False
    assert first.hold() is True  # renewal by the holder
    assert client.get(f"{keys}:leader") == b"host-a"

    second.release()  # not the holder: changes nothing
    assert client.get(f"{keys}:leader") == b"host-a"
    first.release()
    assert first.is_valid() is False
    assert second.hold() is True
    assert first.hold() is False
    assert client.get(f"{keys}:leader") == b"host-b"


def test_a_holder_that_cannot_renew_stops_acting_before_the_lease_expires(client: redis.Redis, keys: str) -> None:
    cut_off = beat.Lease(client=client, key=f"{keys}:leader", seconds=1.0, holder="host-a")
    standby = beat.Lease(client=client, key=f"{keys}:leader", seconds=1.0, holder="host-b")
    assert cut_off.hold() is True
    # Cut off from Redis: renewing raises, so it acts only while its own last renewal lasts (80% of the lease).
    cut_off.client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    cut_off._renew = cut_off.client.register_script(beat._RENEW)
    deadline = time.monotonic() + 30
    while cut_off.hold() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cut_off.is_valid() is False
    while not standby.hold() and time.monotonic() < deadline:  # the key itself expires a little later
        time.sleep(0.05)
    assert standby.is_valid() is True
    assert client.get(f"{keys}:leader") == b"host-b"


def test_only_the_leader_sends_and_a_new_leader_does_not_send_again_within_the_interval(
    tmp_path: Path, keys: str, client: redis.Redis
) -> None:
    leader, standby = scheduler(tmp_path, "a"), scheduler(tmp_path, "b")

    leader.tick()
    standby.tick()

    assert leader.sent == ["sweep"]
    assert standby.sent == []
    assert client.get(f"{keys}:leader").decode() == leader.holder

    # The leader goes away; the standby takes the lease, but the entry was sent less than an interval ago.
    leader.lease.release()
    standby.tick()
    assert standby.is_leader is True
    assert standby.sent == []
    assert leader.sent == ["sweep"]
    assert client.ttl(f"{keys}:sent:sweep") > 0

    # Once the claim has expired (an interval later) the new leader sends it.
    client.delete(f"{keys}:sent:sweep")
    standby._heap = None
    standby.schedule["sweep"].last_run_at = standby.schedule["sweep"].last_run_at.replace(year=2000)
    standby.tick()
    assert standby.sent == ["sweep"]


def test_claims_last_ninety_percent_of_the_interval() -> None:
    from celery.beat import ScheduleEntry
    from celery.schedules import crontab

    every = ScheduleEntry(name="x", task="t", schedule=60.0, app=app)
    daily = ScheduleEntry(name="y", task="t", schedule=crontab(minute=0, hour=3), app=app)
    assert beat.claim_seconds(every) == 54.0
    assert beat.claim_seconds(daily) == beat.CRONTAB_CLAIM_SECONDS
