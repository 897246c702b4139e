"""One worker thread per device, so blocking driver calls stay in order and off the loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)


class DeviceWorker:
    def __init__(self, name: str) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"dev-{name}")

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Queue a call; failures are logged (they never vanish) and surface on the future."""
        future = self._executor.submit(fn, *args)
        future.add_done_callback(self._log_failure)
        return future

    def _log_failure(self, future: Future[Any]) -> None:
        exc = future.exception()
        if exc is not None:
            log.error("%s command failed: %s", self.name, exc, exc_info=exc)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)
