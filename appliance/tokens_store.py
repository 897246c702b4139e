"""Pairing tokens in the records database: add, find, list and revoke.

Only a token's SHA-256 is stored. A token is shown to admins by the first 12 hex digits of
its hash (``token_id``), which is enough to tell tablets apart and revoke one, and useless
for pairing. Mixed into ``appliance.records.Records``; runs on the records thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

TOKEN_ID_LEN = 12


def token_id(token_hash: str) -> str:
    """The short public id of a stored token (first 12 hex digits of its hash)."""
    return token_hash[:TOKEN_ID_LEN]


class TokenStore:
    """Token storage methods of ``Records`` (the ``tokens`` table)."""

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:  # provided by Records
        raise NotImplementedError

    async def add_token(self, token_hash: str, *, role: str, client: str, csrf: str, ttl_s: float) -> None:
        now = time.time()

        def _insert(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, 0)",
                (token_hash, role, client, csrf, now, now + ttl_s),
            )

        await self._run(_insert)

    async def find_token(self, token_hash: str) -> dict[str, Any] | None:
        """A valid token's role, CSRF secret, client and times; None if unknown, expired or revoked."""

        def _get(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute(
                "SELECT role, csrf, client, created_wall, expires_wall FROM tokens"
                " WHERE token_hash = ? AND revoked = 0",
                (token_hash,),
            ).fetchone()
            if row is None or row["expires_wall"] < time.time():
                return None
            return {
                "role": row["role"],
                "csrf": row["csrf"],
                "client": row["client"],
                "created_wall": row["created_wall"],
                "expires_wall": row["expires_wall"],
                "token_hash": token_hash,
            }

        return await self._run(_get)

    async def revoke_token(self, token_hash: str) -> None:
        await self._run(
            lambda db: db.execute("UPDATE tokens SET revoked = 1 WHERE token_hash = ?", (token_hash,))
        )

    async def list_tokens(self, include_expired: bool = False) -> list[dict[str, Any]]:
        """Stored unexpired tokens (revoked ones too), newest first.

        Each is ``{"token_hash","role","client","created_wall","expires_wall","revoked"}``.
        """

        def _list(db: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = db.execute(
                "SELECT token_hash, role, client, created_wall, expires_wall, revoked FROM tokens"
                " WHERE ? OR expires_wall >= ? ORDER BY created_wall DESC",
                (include_expired, time.time()),
            ).fetchall()
            return [{**dict(r), "revoked": bool(r["revoked"])} for r in rows]

        return await self._run(_list)

    async def purge_tokens(self, older_than_s: float = 7 * 86400) -> int:
        """Forget tokens that expired more than ``older_than_s`` ago (called at start); how many.

        Paired tablets come and go all year: without this the table only grows."""

        def _purge(db: sqlite3.Connection) -> int:
            cutoff = time.time() - older_than_s
            return db.execute("DELETE FROM tokens WHERE expires_wall < ?", (cutoff,)).rowcount

        return await self._run(_purge)

    async def revoke_token_id(self, short_id: str) -> list[str]:
        """Revoke the token(s) whose hash starts with ``short_id``; the hashes revoked (empty: unknown)."""
        if len(short_id) != TOKEN_ID_LEN or any(c not in "0123456789abcdef" for c in short_id):
            return []

        def _revoke(db: sqlite3.Connection) -> list[str]:
            hashes = [
                r["token_hash"]
                for r in db.execute(
                    "SELECT token_hash FROM tokens WHERE substr(token_hash, 1, ?) = ?",
                    (TOKEN_ID_LEN, short_id),
                )
            ]
            db.execute(
                "UPDATE tokens SET revoked = 1 WHERE substr(token_hash, 1, ?) = ?", (TOKEN_ID_LEN, short_id)
            )
            return hashes

        return await self._run(_revoke)
