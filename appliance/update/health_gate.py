"""The self-test a freshly booted slot must pass before it is marked good.

It checks what a broken update would break: the instructor panel answers over HTTP on this
box with a health status that is not "starting", and the records database passes SQLite's
``quick_check``. Blocking parts run on an executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import ssl
import urllib.error
import urllib.request
from pathlib import Path


def panel_health(url: str, timeout_s: float = 5.0) -> str | None:
    """None when ``url`` (the panel's /api/health) answers 200 with a started status, else why not."""
    context = None
    if url.startswith("https:"):  # the box asks itself over loopback: its certificate is self-signed
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout_s, context=context) as answer:
            body = json.loads(answer.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"the instructor panel does not answer at {url}: {exc}"
    status = body.get("status")
    if status not in ("ok", "degraded"):
        return f"the instructor panel reports status {status!r}"
    return None


def records_ok(path: Path) -> str | None:
    """None when the records database opens read-only and passes ``PRAGMA quick_check``."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            result = db.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as exc:
        return f"the records database cannot be read: {exc}"
    if not result or result[0] != "ok":
        return f"the records database is damaged: {result[0] if result else 'no answer'}"
    return None


async def self_test(health_url: str, records_path: Path) -> str | None:
    """Both checks; None = healthy."""
    loop = asyncio.get_running_loop()
    problem = await loop.run_in_executor(None, panel_health, health_url)
    if problem is None:
        problem = await loop.run_in_executor(None, records_ok, records_path)
    return problem
