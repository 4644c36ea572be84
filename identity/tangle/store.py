"""Persistent block storage for the local Tangle dev node: one SQLite file in the node's data directory.

The dev node confirms every accepted block at once: block number ``seq`` (1, 2, ...) is referenced by milestone
``seq + 1``; milestone 1 is the network's genesis. Tips are the blocks that no later block names as a parent.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from identity.tangle.block import GENESIS_BLOCK_ID, MAX_PARENTS

DATABASE_NAME = "blocks.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    block_id BLOB NOT NULL UNIQUE CHECK (length(block_id) = 32),
    raw BLOB NOT NULL,
    received_at_ms INTEGER NOT NULL,
    is_tip INTEGER NOT NULL DEFAULT 1 CHECK (is_tip IN (0, 1))
);
CREATE INDEX IF NOT EXISTS blocks_tips ON blocks (is_tip, seq);
"""


@dataclass(frozen=True, slots=True)
class StoredBlock:
    """A block as kept by the node; ``milestone_index`` is the milestone that referenced it."""

    block_id: bytes
    raw: bytes
    milestone_index: int
    received_at_ms: int


class UnknownParentError(ValueError):
    """A block names a parent the node has never seen (and that is not the genesis id)."""


class BlockStore:
    """Thread-safe block storage; every accepted block is committed to disk before the node answers."""

    def __init__(self, *, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(data_dir / DATABASE_NAME, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=FULL")
        self._connection.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._connection.close()

    def insert(self, *, block_id: bytes, raw: bytes, parents: Sequence[bytes]) -> StoredBlock:
        """Store a validated block and make it a tip; storing the same block again returns the stored copy.

        Raises :class:`UnknownParentError` when a parent is neither stored nor the genesis id.
        """
        with self._lock:
            existing = self._select(block_id)
            if existing is not None:
                return existing
            known_parents = [(parent,) for parent in parents if parent != GENESIS_BLOCK_ID]
            for parent in known_parents:
                if self._connection.execute("SELECT 1 FROM blocks WHERE block_id = ?", parent).fetchone() is None:
                    raise UnknownParentError(f"parent 0x{parent[0].hex()} is unknown to the node")
            received_at_ms = time.time_ns() // 1_000_000
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                self._connection.executemany("UPDATE blocks SET is_tip = 0 WHERE block_id = ?", known_parents)
                cursor = self._connection.execute(
                    "INSERT INTO blocks (block_id, raw, received_at_ms) VALUES (?, ?, ?)",
                    (block_id, raw, received_at_ms),
                )
                self._connection.execute("COMMIT")
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            return StoredBlock(
                block_id=block_id, raw=raw, milestone_index=cursor.lastrowid + 1, received_at_ms=received_at_ms
            )

    def _select(self, block_id: bytes) -> StoredBlock | None:
        row = self._connection.execute(
            "SELECT seq, raw, received_at_ms FROM blocks WHERE block_id = ?", (block_id,)
        ).fetchone()
        if row is None:
            return None
        seq, raw, received_at_ms = row
        return StoredBlock(block_id=block_id, raw=raw, milestone_index=seq + 1, received_at_ms=received_at_ms)

    def get(self, *, block_id: bytes) -> StoredBlock | None:
        """Return the stored block with this id, or None."""
        with self._lock:
            return self._select(block_id)

    def tips(self) -> list[bytes]:
        """Return up to eight newest unreferenced block ids, or the genesis id while the network is empty."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT block_id FROM blocks WHERE is_tip = 1 ORDER BY seq DESC LIMIT ?", (MAX_PARENTS,)
            ).fetchall()
        return [row[0] for row in rows] or [GENESIS_BLOCK_ID]

    def latest_milestone_index(self) -> int:
        """Return the index of the newest milestone: 1 (genesis) plus one per stored block."""
        with self._lock:
            last_seq = self._connection.execute("SELECT coalesce(max(seq), 0) FROM blocks").fetchone()[0]
        return last_seq + 1

    def count_since(self, *, since_ms: int) -> int:
        """Return how many blocks arrived at or after ``since_ms`` (Unix time in milliseconds)."""
        with self._lock:
            return self._connection.execute(
                "SELECT count(*) FROM blocks WHERE received_at_ms >= ?", (since_ms,)
            ).fetchone()[0]
