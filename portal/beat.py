"""Beat stays single across hosts: a scheduler that sends only while it holds a lease in Redis, and sends each entry
at most once per interval however many beats run.

A deployment runs beat on one host, but a host that stops answering cannot be told apart from one that is gone, so a
second beat is started elsewhere, and for a while both may run. Two guards keep scheduled work single:

- The lease (``portal:beat:leader``): a key in Redis that one beat sets with ``SET NX PX`` and renews on every tick
  with a compare-and-extend script. The others wait. A beat believes it leads only until its last successful renewal
  plus 80% of the lease, measured on its own monotonic clock from before the renewal was asked, so a beat cut off from
  Redis stops sending before the others can take the lease over.
- The claim (``portal:beat:sent:<entry>``): before sending an entry, the leader sets a key that expires after 90% of
  the entry's interval (50 s for a crontab). A beat that takes over with a stale local schedule, or a second leader in
  a window the lease did not close, finds the claim and skips the entry.

Redis unreachable means the beat sends nothing: the broker is the same Redis, so nothing could be sent anyway.
Every scheduled task is idempotent besides (see docs/architecture.md), so a run that is skipped or delayed by a
failover costs one interval, never a double effect.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from datetime import timedelta

import redis
from celery.beat import PersistentScheduler, ScheduleEntry
from django.conf import settings

logger = logging.getLogger(__name__)

LEASE_KEY = "portal:beat:leader"
CLAIM_KEY = "portal:beat:sent:{name}"
CRONTAB_CLAIM_SECONDS = 50.0
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class Lease:
    """A lease on ``key`` held by ``holder``; ``hold()`` takes or renews it and says whether this holder may act."""

    def __init__(self, *, client: redis.Redis, key: str, seconds: float, holder: str) -> None:
        self.client = client
        self.key = key
        self.seconds = seconds
        self.holder = holder
        self.valid_until = 0.0
        self._renew = client.register_script(_RENEW)

    def hold(self) -> bool:
        asked = time.monotonic()
        milliseconds = int(self.seconds * 1000)
        try:
            held = bool(self._renew(keys=[self.key], args=[self.holder, milliseconds])) or bool(
                self.client.set(self.key, self.holder, nx=True, px=milliseconds)
            )
        except redis.RedisError:
            return self.is_valid()  # cannot renew: act only while the last renewal lasts
        self.valid_until = asked + 0.8 * self.seconds if held else 0.0
        return held

    def is_valid(self) -> bool:
        return time.monotonic() < self.valid_until

    def release(self) -> None:
        """Gives the lease up if this holder has it (a clean shutdown hands over at once)."""
        self.valid_until = 0.0
        with contextlib.suppress(redis.RedisError):
            self.client.eval(
                "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
                1,
                self.key,
                self.holder,
            )


def claim_seconds(entry: ScheduleEntry) -> float:
    """How long a sent entry keeps the others from sending it: 90% of its interval, 50 s for a crontab."""
    run_every = getattr(entry.schedule, "run_every", None)
    if isinstance(run_every, timedelta):
        return max(1.0, 0.9 * run_every.total_seconds())
    return CRONTAB_CLAIM_SECONDS


class LeaderScheduler(PersistentScheduler):
    """Celery beat's file-backed scheduler, sending only under the lease and each entry's claim."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.redis = redis.Redis.from_url(
            settings.BEAT_LOCK_REDIS_URL, socket_timeout=2, socket_connect_timeout=2, health_check_interval=10
        )
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = Lease(client=self.redis, key=LEASE_KEY, seconds=settings.BEAT_LEASE_SECONDS, holder=self.holder)
        self.is_leader = False
        super().__init__(*args, **kwargs)

    def tick(self, *args: object, **kwargs: object) -> float:
        if not self.lease.hold():
            if self.is_leader:
                logger.warning("beat %s lost the lease; standing by", self.holder)
            self.is_leader = False
            return min(self.lease.seconds / 4, self.max_interval)
        if not self.is_leader:
            logger.warning("beat %s holds the lease; sending scheduled tasks", self.holder)
            self.is_leader = True
        return min(super().tick(*args, **kwargs), self.lease.seconds / 4)

    def apply_entry(self, entry: ScheduleEntry, producer: object = None) -> None:
        if not self.lease.is_valid():
            logger.warning("beat %s: lease ran out before %s was sent; left to the leader", self.holder, entry.name)
            return
        try:
            claimed = self.redis.set(
                CLAIM_KEY.format(name=entry.name), self.holder, nx=True, px=int(claim_seconds(entry) * 1000)
            )
        except redis.RedisError as error:
            logger.warning("beat %s: %s not sent, Redis unreachable (%s)", self.holder, entry.name, error)
            return
        if not claimed:
            logger.warning("beat %s: %s was sent by another beat within its interval; skipped", self.holder, entry.name)
            return
        logger.info("beat %s sends %s", self.holder, entry.name)
        super().apply_entry(entry, producer=producer)

    def close(self) -> None:
        super().close()
        self.lease.release()
