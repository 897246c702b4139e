"""Read-side queries of the training record: roster, per-trainee history, date ranges; deletion.

Mixed into ``appliance.records.Records``; everything runs on the records thread. Deleting a
session is the one sanctioned exception to the append-only event log: it drops the delete
trigger, deletes the session's events and row, and recreates the trigger in one transaction,
so ordinary writes can never delete events.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from appliance.errors import InvalidTransition, NotFound

if TYPE_CHECKING:
    from appliance.records import SessionRow

T = TypeVar("T")

DELETE_TRIGGER = (
    "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END"
)


class RecordQueries:
    """Roster, history, range and deletion queries of ``Records``."""

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:  # provided by Records
        raise NotImplementedError

    @staticmethod
    def _session_row(row: sqlite3.Row) -> SessionRow:  # provided by Records
        raise NotImplementedError

    async def all_sessions(self, limit: int = 10_000) -> list[SessionRow]:
        """Every session (up to ``limit``), newest first: the roster is built from these."""

        def _list(db: sqlite3.Connection) -> list[SessionRow]:
            rows = db.execute("SELECT * FROM sessions ORDER BY started_wall DESC LIMIT ?", (limit,))
            return [self._session_row(r) for r in rows]

        return await self._run(_list)

    async def sessions_of_trainee(self, name: str, limit: int = 1000) -> list[SessionRow]:
        """The sessions ``name`` took part in, newest first."""

        def _list(db: sqlite3.Connection) -> list[SessionRow]:
            rows = db.execute(
                "SELECT * FROM sessions WHERE EXISTS"
                " (SELECT 1 FROM json_each(sessions.trainees) WHERE json_each.value = ?)"
                " ORDER BY started_wall DESC LIMIT ?",
                (name, limit),
            )
            return [self._session_row(r) for r in rows]

        return await self._run(_list)

    async def sessions_between(
        self, since_wall: float | None, until_wall: float | None, limit: int = 10_000
    ) -> list[SessionRow]:
        """Sessions started in [since, until), oldest first (either bound may be None)."""

        def _list(db: sqlite3.Connection) -> list[SessionRow]:
            rows = db.execute(
                "SELECT * FROM sessions WHERE (? IS NULL OR started_wall >= ?)"
                " AND (? IS NULL OR started_wall < ?) ORDER BY started_wall LIMIT ?",
                (since_wall, since_wall, until_wall, until_wall, limit),
            )
            return [self._session_row(r) for r in rows]

        return await self._run(_list)

    async def delete_session(self, session_id: str) -> int:
        """Delete an ended or interrupted session and its events; the number of events deleted.

        NotFound if unknown; InvalidTransition (409) if it is still running or paused.
        """

        def _delete(db: sqlite3.Connection) -> int:
            row = db.execute("SELECT status FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise NotFound(f"no session {session_id!r}")
            if row["status"] not in ("ended", "interrupted"):
                raise InvalidTransition(f"session {session_id} is still {row['status']}: end it first")
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DROP TRIGGER IF EXISTS events_append_only_delete")
                count = db.execute("DELETE FROM events WHERE session_id = ?", (session_id,)).rowcount
                db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
                db.execute(
                    "DELETE FROM xapi_outbox WHERE session_id = ? AND sent_wall IS NULL", (session_id,)
                )
                db.execute(DELETE_TRIGGER)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return count

        return await self._run(_delete)
