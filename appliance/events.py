"""The event bus: the only door from device threads into the event loop, and the feed to clients.

``publish_threadsafe`` may be called from any thread (gpiozero callbacks, mpv's event thread,
the camera's capture thread); everything else here is loop-only. Handlers are plain callables
registered per event type; client feeds are bounded queues, and a client that does not keep up
is cut off (it reconnects and gets a fresh snapshot) instead of growing memory without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class FeedOverflow(Exception):
    """The client fell too far behind; it must resynchronise from a snapshot."""


class Feed:
    """One client's bounded queue of messages (dicts ready to be sent as JSON)."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=maxsize)
        self.overflowed = False

    def put(self, message: dict[str, Any]) -> None:
        if self.overflowed:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            self._queue = asyncio.Queue(maxsize=1)
            self._queue.put_nowait({"type": "overflow"})

    async def get(self) -> dict[str, Any]:
        message = await self._queue.get()
        if message.get("type") == "overflow":
            raise FeedOverflow("client fell behind")
        return message

    def close(self) -> None:
        self._bus._feeds.discard(self)

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._handlers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)
        self._feeds: set[Feed] = set()

    def on(self, event_type: type, handler: Callable[[Any], None]) -> None:
        self._handlers[event_type].append(handler)

    def publish(self, event: object) -> None:
        for handler in self._handlers.get(type(event), ()):
            try:
                handler(event)
            except Exception:
                log.exception("handler %r failed on %r", handler, event)

    def publish_threadsafe(self, event: object) -> None:
        """Hand an event from any thread to the loop; safe after the loop has closed."""
        try:
            self._loop.call_soon_threadsafe(self.publish, event)
        except RuntimeError:
            log.debug("event after loop closed dropped: %r", event)

    def broadcast(self, message: dict[str, Any]) -> None:
        """Send a message to every connected client's feed."""
        for feed in list(self._feeds):
            feed.put(message)

    def open_feed(self, maxsize: int = 1000) -> Feed:
        feed = Feed(self, maxsize)
        self._feeds.add(feed)
        return feed

    @property
    def feed_count(self) -> int:
        return len(self._feeds)
