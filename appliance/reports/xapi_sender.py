"""The xAPI outbox: statements queued in SQLite at session end, sent to the LRS in the background.

A session that ends (status ``ended``) while xAPI is enabled gets one statement per trainee in
the ``xapi_outbox`` table of the records database, in the same transaction that marks the
session as queued (``xapi_sessions``). Only sessions that ended after xAPI was first enabled
are queued (``xapi_meta.since``); interrupted sessions are not. The sender POSTs the pending
statements as one batch to ``{endpoint}/statements`` with ``X-Experience-API-Version: 1.0.3``
and basic auth; any failure (refused connection, timeout, non-2xx answer) keeps them queued and
waits ``retry_min_s``, doubling up to ``retry_max_s``. 409 Conflict means the LRS already has
these ids (a repeat after a lost answer): they count as sent. The queue is on disk, so nothing
is lost across a restart. HTTP uses the standard library (urllib) on its own thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import sqlite3
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from appliance.records import Records, iso
from appliance.reports.summary import summarise
from appliance.reports.xapi import XAPI_VERSION, build_statements, statement_problems
from appliance.scenario.library import ScenarioLibrary
from appliance.settings import XapiSettings

log = logging.getLogger(__name__)

BATCH = 50
POLL_S = 1.0
"""How often ended sessions are looked for while nothing else wakes the sender."""


class SendFailed(OSError):
    """The LRS could not be reached or refused the statements."""


def post_statements(settings: XapiSettings, statements: list[dict[str, Any]]) -> int:
    """POST a batch to the LRS (blocking); the HTTP status. SendFailed on any failure."""
    url = settings.endpoint.rstrip("/") + "/statements"
    headers = {"Content-Type": "application/json", "X-Experience-API-Version": XAPI_VERSION}
    if settings.username or settings.password:
        creds = f"{settings.username}:{settings.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(creds).decode()
    request = urllib.request.Request(
        url, data=json.dumps(statements).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout_s) as answer:
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        if exc.code == 409:
            return 409
        body = exc.read(300).decode("utf-8", "replace").strip()
        raise SendFailed(f"LRS answered {exc.code} {exc.reason}" + (f": {body}" if body else "")) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendFailed(f"cannot reach the LRS at {url}: {reason}") from None


class XapiSender:
    """Queues statements of ended sessions and sends them with exponential backoff."""

    def __init__(self, records: Records, library: ScenarioLibrary | None, settings: XapiSettings) -> None:
        self._records = records
        self._library = library
        self.settings = settings
        self._wake = asyncio.Event()
        self._http = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xapi")
        self._failures = 0
        self.last_error: str | None = None
        self.next_retry_wall: float | None = None

    # ---- queue ---------------------------------------------------------------------------
    async def _since(self) -> float:
        def _get(db: sqlite3.Connection) -> float:
            row = db.execute("SELECT value FROM xapi_meta WHERE key = 'since'").fetchone()
            if row is not None:
                return float(row["value"])
            now = time.time()
            db.execute("INSERT INTO xapi_meta VALUES ('since', ?)", (repr(now),))
            return now

        return await self._records.run(_get)

    async def enqueue_ended(self) -> int:
        """Queue the statements of sessions that ended since xAPI was enabled; how many were queued."""
        since = await self._since()
        ids = await self._records.run(
            lambda db: [
                r["id"]
                for r in db.execute(
                    "SELECT id FROM sessions WHERE status = 'ended' AND ended_wall >= ?"
                    " AND id NOT IN (SELECT session_id FROM xapi_sessions) ORDER BY ended_wall",
                    (since,),
                )
            ]
        )
        queued = 0
        for sid in ids:
            session = await self._records.get_session(sid)
            summary = summarise(session, await self._records.events(sid), self._library)
            statements = build_statements(
                summary,
                base_iri=self.settings.activity_base_iri,
                pass_threshold=self.settings.pass_threshold,
                failure_words=self.settings.failure_outcomes,
            )
            for st in statements:
                problems = statement_problems(st)
                if problems:
                    log.error("xAPI statement of session %s is malformed: %s", sid, "; ".join(problems))
            queued += await self._records.run(lambda db, sid=sid, sts=statements: _queue(db, sid, sts))
        return queued

    async def status(self) -> dict[str, Any]:
        """``{"enabled","endpoint","queued","sent","last_error","next_retry_at"}`` for the admin page."""

        def _counts(db: sqlite3.Connection) -> tuple[int, int]:
            row = db.execute(
                "SELECT SUM(sent_wall IS NULL) AS queued, SUM(sent_wall IS NOT NULL) AS sent FROM xapi_outbox"
            ).fetchone()
            return int(row["queued"] or 0), int(row["sent"] or 0)

        queued, sent = await self._records.run(_counts)
        return {
            "enabled": self.settings.enabled,
            "endpoint": self.settings.endpoint,
            "queued": queued,
            "sent": sent,
            "last_error": self.last_error,
            "next_retry_at": iso(self.next_retry_wall) if queued else None,
        }

    def retry_now(self) -> None:
        """Forget the backoff and try at once."""
        self._failures = 0
        self.next_retry_wall = None
        self._wake.set()

    # ---- sending -------------------------------------------------------------------------
    async def send_pending(self) -> int:
        """Send one batch of queued statements; how many were sent. SendFailed on failure."""
        pending = await self._records.run(
            lambda db: [
                (r["id"], json.loads(r["statement"]))
                for r in db.execute(
                    "SELECT id, statement FROM xapi_outbox WHERE sent_wall IS NULL ORDER BY id LIMIT ?",
                    (BATCH,),
                )
            ]
        )
        if not pending:
            return 0
        ids = [i for i, _ in pending]
        loop = asyncio.get_running_loop()
        try:
            status = await loop.run_in_executor(
                self._http, post_statements, self.settings, [s for _, s in pending]
            )
        except SendFailed as exc:
            error = str(exc)
            await self._records.run(lambda db: _mark_failed(db, ids, error))
            raise
        if status == 409:
            log.warning("the LRS already had %d statements (409): counted as sent", len(ids))
        await self._records.run(lambda db: _mark_sent(db, ids))
        return len(ids)

    async def run(self) -> None:
        """The background task: queue, send, back off; until cancelled."""
        if not self.settings.enabled:
            return
        if not self.settings.endpoint:
            self.last_error = "xAPI is enabled but no endpoint is set"
            log.warning("%s", self.last_error)
            return
        log.info("xAPI: sending statements to %s", self.settings.endpoint)
        while True:
            delay = POLL_S
            self._wake.clear()
            try:
                await self.enqueue_ended()
                if self.next_retry_wall is None or time.time() >= self.next_retry_wall:
                    while await self.send_pending() == BATCH:
                        pass
                    self._failures = 0
                    self.last_error = None
                    self.next_retry_wall = None
                else:
                    delay = min(POLL_S, max(0.0, self.next_retry_wall - time.time()))
            except SendFailed as exc:
                self._failures += 1
                backoff = min(
                    self.settings.retry_max_s, self.settings.retry_min_s * 2 ** (self._failures - 1)
                )
                self.last_error = str(exc)
                self.next_retry_wall = time.time() + backoff
                log.warning("xAPI: %s; retrying in %.0f s", exc, backoff)
                delay = min(POLL_S, backoff)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("xAPI sender failed; it goes on")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    def close(self) -> None:
        self._http.shutdown(wait=False, cancel_futures=True)


def _queue(db: sqlite3.Connection, session_id: str, statements: list[dict[str, Any]]) -> int:
    now = time.time()
    db.execute("BEGIN IMMEDIATE")
    try:
        for st in statements:
            db.execute(
                "INSERT OR IGNORE INTO xapi_outbox (statement_id, session_id, statement, queued_wall)"
                " VALUES (?, ?, ?, ?)",
                (st["id"], session_id, json.dumps(st, separators=(",", ":")), now),
            )
        db.execute("INSERT OR IGNORE INTO xapi_sessions VALUES (?, ?)", (session_id, now))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return len(statements)


def _mark_sent(db: sqlite3.Connection, ids: list[int]) -> None:
    marks = ",".join("?" * len(ids))
    db.execute(
        "UPDATE xapi_outbox SET sent_wall = ?, attempts = attempts + 1, last_error = NULL"
        f" WHERE id IN ({marks})",
        (time.time(), *ids),
    )


def _mark_failed(db: sqlite3.Connection, ids: list[int], error: str) -> None:
    marks = ",".join("?" * len(ids))
    db.execute(
        f"UPDATE xapi_outbox SET attempts = attempts + 1, last_error = ? WHERE id IN ({marks})", (error, *ids)
    )
