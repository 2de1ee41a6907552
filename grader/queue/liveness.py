"""Which workers are alive, from Celery's own event stream: every worker's main process sends a
``worker-heartbeat`` every 2 s, and ``worker-offline`` when it shuts down.

A worker not heard for ``GRADER_QUEUE_LOST_AFTER`` seconds (15, about 7 heartbeats) is lost,
whatever stopped it: its main process killed, its process group killed, its host gone or cut
off. Time is counted on this machine's clock from when the event arrived (hosts' clocks may
differ), and from when this coordinator started listening for a worker it never heard: one
that died before this coordinator started is lost too. While the stream is down nothing is
declared lost: the broker's visibility timeout is then the last resort.
"""
from __future__ import annotations

import functools
import os
import threading
import time
from typing import Any

from celery import Celery

LOST_AFTER_ENV = "GRADER_QUEUE_LOST_AFTER"
LOST_AFTER_S = 15.0
_RETRY_S = 1.0


def lost_after() -> float:
    return float(os.environ.get(LOST_AFTER_ENV, LOST_AFTER_S))


class WorkerWatch:
    """Listens to worker events on a thread of its own while the ``with`` block runs."""

    def __init__(self, app: Celery, lost_after_s: float | None = None) -> None:
        self.app = app
        self.lost_after_s = lost_after() if lost_after_s is None else lost_after_s
        self._heard: dict[str, float] = {}
        self._offline: set[str] = set()
        self._listening_since: float | None = None
        self._receiver: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="grader-worker-watch", daemon=True)

    def __enter__(self) -> WorkerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(timeout=5)

    def lost(self, node: str | None) -> str | None:
        """Why the worker ``node`` counts as lost, or None while it is alive or this cannot tell."""
        since = self._listening_since
        if not node or since is None:
            return None
        if node in self._offline:
            return "it shut down"
        silent = time.monotonic() - max(self._heard.get(node, since), since)
        return f"no heartbeat for {silent:.0f} s" if silent > self.lost_after_s else None

    def _heard_from(self, event: dict[str, Any]) -> None:
        node = str(event.get("hostname"))
        self._heard[node] = time.monotonic()
        self._offline.discard(node)

    def _gone(self, event: dict[str, Any]) -> None:
        self._offline.add(str(event.get("hostname")))

    def _listen(self) -> None:
        handlers = {"worker-heartbeat": self._heard_from, "worker-online": self._heard_from,
                    "worker-offline": self._gone}
        while not self._stop.is_set():
            try:
                with self.app.connection_for_read() as connection:
                    self._receiver = receiver = self.app.events.Receiver(connection, handlers=handlers)
                    receiver.should_stop = self._stop.is_set()
                    receiver.on_consume_ready = functools.partial(self._started, receiver.on_consume_ready)
                    # wakeup: asks every worker for a heartbeat now, so the live ones are known at once
                    receiver.capture(limit=None, timeout=None, wakeup=True)
            except Exception:  # noqa: BLE001 - whatever breaks the stream, "cannot tell" is the safe answer
                self._listening_since = None
                self._stop.wait(_RETRY_S)

    def _started(self, subscribe: Any, *args: Any, **kwargs: Any) -> None:
        """Connected and subscribed (kombu retries connecting for as long as it takes): count from now."""
        self._listening_since = time.monotonic()
        subscribe(*args, **kwargs)
