"""Pairing a tablet: the PINs, roles, failed-attempt rate limiting, and bearer tokens.

Two PINs: the pairing PIN shown on the projector pairs an ``instructor``; the admin PIN (set
once at first-run setup, stored only as an scrypt hash under the data directory) pairs an
``admin``. Tokens are random 256-bit strings; only their SHA-256 is stored (in the records
database, so a restart does not unpair every tablet). Each token carries a CSRF secret that
cookie-based requests must echo in the ``X-CSRF-Token`` header. Revoking a token tells the
registered listeners (the WebSocket feed closes that tablet's socket).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import InvalidTransition, NotFound
from appliance.records import Records

log = logging.getLogger(__name__)

PIN_FILE = "pairing-pin"
ADMIN_PIN_FILE = "admin-pin.json"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
ROLES = ("instructor", "admin")
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


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by the service user only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def new_pin() -> str:
    """A random 6-digit pairing PIN."""
    return f"{secrets.randbelow(10**6):06d}"


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
    pin = new_pin()
    _write_private(path, pin + "\n")
    return pin


def hash_admin_pin(pin: str, salt: bytes | None = None) -> dict[str, object]:
    """The stored form of an admin PIN: scrypt parameters, salt and hash (hex)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return {"scrypt": {"n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}, "salt": salt.hex(), "hash": digest.hex()}


def admin_pin_matches(pin: str, stored: dict[str, object]) -> bool:
    params = stored["scrypt"]
    assert isinstance(params, dict)
    digest = hashlib.scrypt(
        pin.encode(),
        salt=bytes.fromhex(str(stored["salt"])),
        n=int(params["n"]),
        r=int(params["r"]),
        p=int(params["p"]),
        dklen=32,
    )
    return hmac.compare_digest(digest.hex(), str(stored["hash"]))


def check_admin_pin(admin_pin: str, pairing_pin: str) -> None:
    """ValueError naming the problem unless the admin PIN is 6-12 digits and not the pairing PIN."""
    if not (admin_pin.isdigit() and admin_pin.isascii() and 6 <= len(admin_pin) <= 12):
        raise ValueError("the admin PIN must be 6 to 12 digits")
    if admin_pin == pairing_pin:
        raise ValueError("the admin PIN must differ from the pairing PIN shown on the projector")


class Pairing:
    """The PINs, the failed-attempt counter per client, and the tokens (in the records database)."""

    def __init__(
        self,
        records: Records,
        pin: str,
        *,
        token_ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        data_dir: Path | None = None,
        on_pin_change: Callable[[str], None] | None = None,
    ) -> None:
        self._records = records
        self.pin = pin
        self._ttl = token_ttl_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._data_dir = data_dir
        self.on_pin_change = on_pin_change
        """Called (on the loop) with the new pairing PIN after a rotation: the idle card shows it."""
        self._revocation_listeners: set[Callable[[set[str]], None]] = set()
        self._admin: dict[str, object] | None = self._load_admin()

    # ---- admin PIN ----------------------------------------------------------------------------
    def _load_admin(self) -> dict[str, object] | None:
        if self._data_dir is None:
            return None
        try:
            stored = json.loads((self._data_dir / ADMIN_PIN_FILE).read_text())
            if isinstance(stored, dict) and {"scrypt", "salt", "hash"} <= stored.keys():
                return stored
            log.warning("ignoring a malformed %s: first-run setup is open again", ADMIN_PIN_FILE)
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s (%s): first-run setup is open again", ADMIN_PIN_FILE, exc)
        return None

    @property
    def admin_pin_set(self) -> bool:
        return self._admin is not None

    async def setup_admin(self, pairing_pin: str, admin_pin: str, client: str) -> Grant:
        """First-run setup: set the admin PIN (proving presence with the pairing PIN) and pair as admin.

        InvalidTransition if an admin PIN is set already; TooManyAttempts / WrongPin as ``pair``;
        ValueError if the admin PIN is not acceptable.
        """
        if self._admin is not None:
            raise InvalidTransition("the admin PIN is set already: pair with it on the admin page")
        self._check_rate(client)
        if not hmac.compare_digest(pairing_pin.encode(), self.pin.encode()):
            self._failures[client].append(self._clock())
            log.warning("wrong pairing PIN at first-run setup from %s", client)
            raise WrongPin("wrong PIN")
        check_admin_pin(admin_pin, self.pin)
        stored = await asyncio.to_thread(hash_admin_pin, admin_pin)
        if self._admin is not None:  # another tablet finished setup meanwhile
            raise InvalidTransition("the admin PIN is set already: pair with it on the admin page")
        if self._data_dir is None:
            raise RuntimeError("no data directory to keep the admin PIN in")
        _write_private(self._data_dir / ADMIN_PIN_FILE, json.dumps(stored) + "\n")
        self._admin = stored
        self._failures.pop(client, None)
        log.info("admin PIN set from %s", client)
        return await self._grant(client, "admin")

    # ---- pairing PIN rotation -----------------------------------------------------------------
    async def rotate_pin(self) -> str:
        """Choose a new random pairing PIN (never the old one nor the admin PIN), keep it in the
        data directory and announce it."""
        pin = new_pin()
        while pin == self.pin or (
            self._admin is not None and await asyncio.to_thread(admin_pin_matches, pin, self._admin)
        ):
            pin = new_pin()
        if self._data_dir is not None:
            _write_private(self._data_dir / PIN_FILE, pin + "\n")
        self.pin = pin
        log.info("pairing PIN rotated; the projector's idle card shows the new one")
        if self.on_pin_change is not None:
            self.on_pin_change(pin)
        return pin

    def _check_rate(self, client: str) -> None:
        now = self._clock()
        fails = self._failures[client]
        while fails and now - fails[0] > FAILURE_WINDOW_S:
            fails.popleft()
        if len(fails) >= MAX_FAILURES:
            raise TooManyAttempts(FAILURE_WINDOW_S - (now - fails[0]))

    async def pair(self, pin: str, client: str) -> Grant:
        """Pair a tablet; its role is the one of the PIN that matched (pairing PIN: instructor)."""
        self._check_rate(client)
        if hmac.compare_digest(pin.encode(), self.pin.encode()):
            role = "instructor"
        elif self._admin is not None and await asyncio.to_thread(admin_pin_matches, pin, self._admin):
            role = "admin"
        else:
            self._failures[client].append(self._clock())
            log.warning("wrong pairing PIN from %s", client)
            raise WrongPin("wrong PIN")
        self._failures.pop(client, None)
        return await self._grant(client, role)

    async def _grant(self, client: str, role: str) -> Grant:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        await self._records.add_token(hash_token(token), role=role, client=client, csrf=csrf, ttl_s=self._ttl)
        log.info("tablet paired from %s as %s", client, role)
        return Grant(token=token, csrf_token=csrf, role=role)

    async def check(self, token: str) -> dict[str, object] | None:
        """The token's role, CSRF secret, client and times, or None when unknown, expired or revoked."""
        if not token:
            return None
        return await self._records.find_token(hash_token(token))

    async def revoke(self, token: str) -> None:
        token_hash = hash_token(token)
        await self._records.revoke_token(token_hash)
        self._announce_revoked({token_hash})

    # ---- admin: tokens ------------------------------------------------------------------------
    async def list_tokens(self) -> list[dict[str, object]]:
        """Paired tablets (unexpired tokens), newest first, with their hashes."""
        return await self._records.list_tokens()

    async def revoke_id(self, short_id: str) -> None:
        """Revoke a token by its short id (NotFound if none has it); its tablet's socket closes."""
        hashes = await self._records.revoke_token_id(short_id)
        if not hashes:
            raise NotFound(f"no paired tablet {short_id!r}")
        log.info("token %s revoked", short_id)
        self._announce_revoked(set(hashes))

    def on_revoked(self, listener: Callable[[set[str]], None]) -> Callable[[], None]:
        """Call ``listener(token_hashes)`` after each revocation; returns the unsubscribe function."""
        self._revocation_listeners.add(listener)
        return lambda: self._revocation_listeners.discard(listener)

    def _announce_revoked(self, hashes: set[str]) -> None:
        for listener in list(self._revocation_listeners):
            try:
                listener(hashes)
            except Exception:
                log.exception("revocation listener failed")
