"""``/api/ws``: a snapshot on connect, then the typed messages the controller broadcasts."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from appliance.events import FeedOverflow
from web_ui.deps import websocket_paired

log = logging.getLogger(__name__)
router = APIRouter()

CLOSE_UNAUTHORISED = 4401
CLOSE_FELL_BEHIND = 4408
CLOSE_REVOKED = 4403


@router.websocket("/api/ws")
async def live_feed(websocket: WebSocket) -> None:
    token_hash = await websocket_paired(websocket)
    if not token_hash:
        await websocket.close(code=CLOSE_UNAUTHORISED, reason="not paired")
        return
    service = websocket.app.state.service
    await websocket.accept()
    revoked = asyncio.Event()
    unsubscribe = service.pairing.on_revoked(lambda hashes: token_hash in hashes and revoked.set())
    with service.bus.open_feed() as feed:
        await websocket.send_json({"type": "snapshot", "state": service.controller.snapshot()})
        reader = asyncio.create_task(_drain(websocket))
        watcher = asyncio.create_task(revoked.wait())
        try:
            while not reader.done():
                getter = asyncio.create_task(feed.get())
                done, _ = await asyncio.wait({getter, reader, watcher}, return_when=asyncio.FIRST_COMPLETED)
                if watcher in done:
                    getter.cancel()
                    await websocket.close(code=CLOSE_REVOKED, reason="this tablet was unpaired")
                    break
                if getter not in done:
                    getter.cancel()
                    break
                await websocket.send_json(getter.result())
        except FeedOverflow:
            log.warning("a tablet fell behind the live feed; asking it to reconnect")
            await websocket.close(code=CLOSE_FELL_BEHIND, reason="fell behind: reconnect for a snapshot")
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            unsubscribe()
            watcher.cancel()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed at once."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
