"""Pairing a tablet: the PIN, failed-attempt rate limiting, and bearer tokens.

Tokens are random 256-bit strings; only their SHA-256 is stored (in the records database, so
a restart does not unpair every tablet). Each token carries a CSRF secret that cookie-based
requests must echo in the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.records import Records

log = logging.getLogger(__name__)

PIN_FILE = "pairing-pin"
MAX_FAILURES = 5
FAILURE_WINDOW_S = 60.0


class WrongPin(PermissionError):
    """The PIN did not match."""


class TooManyAttempts(PermissionError):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many wrong PINs: try again in {int(retry_after_s) + 1} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Grant:
    token: str
    csrf_token: str
    role: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_or_create_pin(data_dir: Path, configured: str | None) -> str:
    """The configured PIN, else the one kept in the data directory, else a new random one."""
    if configured:
        return configured
    path = data_dir / PIN_FILE
    try:
        pin = path.read_text().strip()
        if pin.isdigit() and 4 <= len(pin) <= 8:
            return pin
        log.warning("ignoring malformed %s; choosing a new PIN", path)
    except FileNotFoundError:
        pass
    pin = f"{secrets.randbelow(10**6):06d}"
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(pin + "\n")
    os.replace(tmp, path)
    return pin


class Pairing:
    def __init__(
        self,
        records: Records,
        pin: str,
        *,
        token_ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._records = records
        self.pin = pin
        self._ttl = token_ttl_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _check_rate(self, client: str) -> None:
        now = self._clock()
        fails = self._failures[client]
        while fails and now - fails[0] > FAILURE_WINDOW_S:
            fails.popleft()
        if len(fails) >= MAX_FAILURES:
            raise TooManyAttempts(FAILURE_WINDOW_S - (now - fails[0]))

    async def pair(self, pin: str, client: str, role: str = "instructor") -> Grant:
        self._check_rate(client)
        if not hmac.compare_digest(pin.encode(), self.pin.encode()):
            self._failures[client].append(self._clock())
            log.warning("wrong pairing PIN from %s", client)
            raise WrongPin("wrong PIN")
        self._failures.pop(client, None)
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        await self._records.add_token(hash_token(token), role=role, client=client, csrf=csrf, ttl_s=self._ttl)
        log.info("tablet paired from %s", client)
        return Grant(token=token, csrf_token=csrf, role=role)

    async def check(self, token: str) -> dict[str, str] | None:
        """The token's role and CSRF secret, or None when unknown, expired or revoked."""
        if not token:
            return None
        return await self._records.find_token(hash_token(token))

    async def revoke(self, token: str) -> None:
        await self._records.revoke_token(hash_token(token))
