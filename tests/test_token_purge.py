"""Pairing tokens that expired long ago are forgotten at start, recent ones are kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

from appliance.records import Records


def test_tokens_expired_over_a_week_ago_are_purged(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, set[str]]:
        records = Records(tmp_path / "records.sqlite3")
        await records.open()
        try:
            await records.add_token("a" * 64, role="instructor", client="old", csrf="x", ttl_s=-8 * 86400)
            await records.add_token("b" * 64, role="instructor", client="recent", csrf="x", ttl_s=-86400)
            await records.add_token("c" * 64, role="admin", client="live", csrf="x", ttl_s=3600)
            purged = await records.purge_tokens()
            left = {t["client"] for t in await records.list_tokens(include_expired=True)}
        finally:
            await records.close()
        return purged, left

    purged, left = asyncio.run(scenario())
    assert purged == 1 and left == {"recent", "live"}
