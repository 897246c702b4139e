"""The session record: an append-only event log in SQLite (WAL, synchronous=FULL).

All SQLite work runs on one dedicated thread so the loop never blocks on a disk flush and
statements stay in order. ``append`` returns only after the row is committed (fsynced):
an event the tablet was told about survives a ``kill -9`` or a pulled power cord.
Debriefs, reports and exports are computed from this log, never from live objects.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from appliance.errors import NotFound
from appliance.records_queries import RecordQueries
from appliance.tokens_store import TokenStore

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    scenario_id TEXT NOT NULL,
    scenario_title TEXT NOT NULL,
    scenario_version TEXT NOT NULL,
    trainees TEXT NOT NULL,
    instructor TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    outcome TEXT,
    started_wall REAL NOT NULL,
    ended_wall REAL
);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    scene_id TEXT,
    t_mono REAL NOT NULL,
    t_wall REAL NOT NULL,
    t_session_s REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    client TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_wall REAL NOT NULL,
    expires_wall REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS xapi_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    statement_id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    statement TEXT NOT NULL,
    queued_wall REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_wall REAL,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS xapi_sessions (session_id TEXT PRIMARY KEY, queued_wall REAL NOT NULL);
CREATE TABLE IF NOT EXISTS xapi_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
"""

MIGRATIONS: tuple[tuple[str, str, str], ...] = (
    ("sessions", "trainee_roles", "ALTER TABLE sessions ADD COLUMN trainee_roles TEXT NOT NULL DEFAULT '{}'"),
    ("sessions", "safety_officer", "ALTER TABLE sessions ADD COLUMN safety_officer TEXT NOT NULL DEFAULT ''"),
)
"""Columns added after the first release: (table, column, statement). Each runs once, only when
the column is missing, so opening an existing database file is safe and idempotent."""


def migrate(db: sqlite3.Connection) -> None:
    """Bring an existing database's schema up to date (idempotent)."""
    for table, column, statement in MIGRATIONS:
        columns = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            db.execute(statement)


def iso(t_wall: float | None) -> str | None:
    if t_wall is None:
        return None
    return datetime.fromtimestamp(t_wall, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class SessionRow:
    id: str
    scenario_id: str
    scenario_title: str
    scenario_version: str
    trainees: list[str]
    instructor: str
    status: str  # running | paused | ended | interrupted
    outcome: str | None
    started_wall: float
    ended_wall: float | None
    trainee_roles: dict[str, str | None] = field(default_factory=dict)
    """Each trainee's role (e.g. nurse, security officer) or None; every trainee has a key."""
    safety_officer: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["trainee_roles"] = {name: self.trainee_roles.get(name) for name in self.trainees}
        out["started_at"] = iso(self.started_wall)
        out["ended_at"] = iso(self.ended_wall)
        return out


@dataclass(frozen=True)
class EventRow:
    session_id: str
    seq: int
    kind: str
    actor: str
    scene_id: str | None
    t_mono: float
    t_wall: float
    t_session_s: float
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["t_wall"] = iso(self.t_wall)
        out["t_session_s"] = round(self.t_session_s, 3)
        return out


def _session(row: sqlite3.Row) -> SessionRow:
    return SessionRow(
        id=row["id"],
        scenario_id=row["scenario_id"],
        scenario_title=row["scenario_title"],
        scenario_version=row["scenario_version"],
        trainees=json.loads(row["trainees"]),
        instructor=row["instructor"],
        status=row["status"],
        outcome=row["outcome"],
        started_wall=row["started_wall"],
        ended_wall=row["ended_wall"],
        trainee_roles=json.loads(row["trainee_roles"]),
        safety_officer=row["safety_officer"],
    )


def _event(row: sqlite3.Row) -> EventRow:
    return EventRow(
        session_id=row["session_id"],
        seq=row["seq"],
        kind=row["kind"],
        actor=row["actor"],
        scene_id=row["scene_id"],
        t_mono=row["t_mono"],
        t_wall=row["t_wall"],
        t_session_s=row["t_session_s"],
        data=json.loads(row["data"]),
    )


class Records(TokenStore, RecordQueries):
    """Async facade over one SQLite connection living on its own thread.

    Pairing tokens (``TokenStore``) and the roster / history / export queries
    (``RecordQueries``) live in their own modules and run on the same thread.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="records")
        self._db: sqlite3.Connection | None = None

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn)

    @staticmethod
    def _session_row(row: sqlite3.Row) -> SessionRow:
        return _session(row)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the records thread (for stores that share the database file)."""
        return await self._run(fn)

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._db is None:
            raise RuntimeError("records are closed")
        return fn(self._db)

    def _open_sync(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(SCHEMA)
        migrate(db)
        self._db = db

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._open_sync)

    async def close(self) -> None:
        def _close() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, _close)
        self._executor.shutdown(wait=True)

    # sessions -----------------------------------------------------------------------------
    async def create_session(
        self,
        session_id: str,
        *,
        scenario_id: str,
        scenario_title: str,
        scenario_version: str,
        trainees: list[str],
        instructor: str,
        started_wall: float,
        trainee_roles: dict[str, str | None] | None = None,
        safety_officer: str = "",
    ) -> SessionRow:
        roles = {name: (trainee_roles or {}).get(name) for name in trainees}

        def _insert(db: sqlite3.Connection) -> SessionRow:
            db.execute(
                "INSERT INTO sessions (id, scenario_id, scenario_title, scenario_version, trainees,"
                " instructor, status, started_wall, trainee_roles, safety_officer)"
                " VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                (
                    session_id,
                    scenario_id,
                    scenario_title,
                    scenario_version,
                    json.dumps(trainees),
                    instructor,
                    started_wall,
                    json.dumps(roles),
                    safety_officer,
                ),
            )
            return _session(db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone())

        return await self._run(_insert)

    async def set_status(
        self, session_id: str, status: str, *, outcome: str | None = None, ended_wall: float | None = None
    ) -> None:
        def _update(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE sessions SET status = ?, outcome = COALESCE(?, outcome),"
                " ended_wall = COALESCE(?, ended_wall) WHERE id = ?",
                (status, outcome, ended_wall, session_id),
            )

        await self._run(_update)

    async def get_session(self, session_id: str) -> SessionRow:
        def _get(db: sqlite3.Connection) -> SessionRow | None:
            row = db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
            return _session(row) if row else None

        found = await self._run(_get)
        if found is None:
            raise NotFound(f"no session {session_id!r}")
        return found

    async def list_sessions(self, limit: int = 200, offset: int = 0) -> list[SessionRow]:
        def _list(db: sqlite3.Connection) -> list[SessionRow]:
            rows = db.execute(
                "SELECT * FROM sessions ORDER BY started_wall DESC LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
            return [_session(r) for r in rows]

        return await self._run(_list)

    async def interrupt_unfinished(self) -> list[str]:
        """Mark sessions left running by a crash as interrupted, with an event saying so."""

        def _mark(db: sqlite3.Connection) -> list[str]:
            ids = [
                r["id"] for r in db.execute("SELECT id FROM sessions WHERE status IN ('running','paused')")
            ]
            now = time.time()
            for sid in ids:
                last = db.execute(
                    "SELECT seq, t_session_s, scene_id FROM events WHERE session_id = ?"
                    " ORDER BY seq DESC LIMIT 1",
                    (sid,),
                ).fetchone()
                seq = (last["seq"] + 1) if last else 1
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "INSERT INTO events VALUES (?, ?, 'interrupted', 'system', ?, ?, ?, ?, ?)",
                    (
                        sid,
                        seq,
                        last["scene_id"] if last else None,
                        time.monotonic(),
                        now,
                        last["t_session_s"] if last else 0.0,
                        json.dumps({"reason": "the service stopped while the session ran"}),
                    ),
                )
                db.execute(
                    "UPDATE sessions SET status = 'interrupted', ended_wall = ? WHERE id = ?", (now, sid)
                )
                db.execute("COMMIT")
            return ids

        return await self._run(_mark)

    # events -------------------------------------------------------------------------------
    async def append(self, event: EventRow) -> EventRow:
        """Commit one event; returns once it is durable on disk."""

        def _insert(db: sqlite3.Connection) -> EventRow:
            db.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.session_id,
                    event.seq,
                    event.kind,
                    event.actor,
                    event.scene_id,
                    event.t_mono,
                    event.t_wall,
                    event.t_session_s,
                    json.dumps(event.data, separators=(",", ":")),
                ),
            )
            return event

        return await self._run(_insert)

    async def events(self, session_id: str) -> list[EventRow]:
        def _list(db: sqlite3.Connection) -> list[EventRow]:
            rows = db.execute("SELECT * FROM events WHERE session_id = ? ORDER BY seq", (session_id,))
            return [_event(r) for r in rows]

        return await self._run(_list)

    async def integrity_check(self) -> str:
        return await self._run(lambda db: db.execute("PRAGMA integrity_check").fetchone()[0])
