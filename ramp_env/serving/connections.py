"""Connection handling for ``ramp-env serve``: timeouts, a connection cap, quiet accept errors.

uvicorn closes a keep-alive connection only after a response, so a client that connects
and sends nothing, or drips a byte of its request head every few seconds, holds a file
descriptor forever; a thousand of them exhaust the descriptors, and every failed
``accept()`` then logs a traceback. :func:`guarded_protocol` wraps uvicorn's h11 protocol:

* **head timeout**: a request head must arrive complete within ``head_timeout`` seconds of
  the connection opening or of the previous response, else the connection is closed (data
  trickling in does not reset it); an idle keep-alive connection is closed after uvicorn's
  ``timeout_keep_alive``; the body has the app's own ``read_timeout`` (408);
* **connection cap**: at most ``max_connections`` open connections. A new one over the cap
  closes the connection that has been idle longest (no request in flight); when every
  connection is busy the newcomer gets ``503`` and is closed;
* :func:`quiet_exception_handler`: the event loop reports ``accept()`` failing for lack of
  descriptors (EMFILE/ENFILE) in one line at most once a minute instead of a traceback each
  time; other reports go to the default handler.

This hooks uvicorn's ``H11Protocol`` (connection_made, handle_events, on_response_complete,
connection_lost) because uvicorn has no setting for a head timeout or a per-server cap that
frees descriptors (``limit_concurrency`` answers 503 but keeps every idle connection open).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from ramp_env.errors import InvalidOptionError

log = logging.getLogger(__name__)

_BUSY_BODY = b'{"detail":"too many connections: try again in a moment"}'
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY)
)


def default_max_connections() -> int:
    """Half the process's descriptor limit (the rest: index files, the store, the loop), 16..1024."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1024
    return max(16, min(1024, soft // 2))


@dataclass(frozen=True)
class ConnectionLimits:
    """Per-server connection limits (see the module docs)."""

    max_connections: int = 512
    head_timeout: float = 10.0

    def __post_init__(self) -> None:
        if isinstance(self.max_connections, bool) or not isinstance(self.max_connections, int) or self.max_connections < 1:
            raise InvalidOptionError(f"max_connections must be a positive integer, got {self.max_connections!r}")
        if not isinstance(self.head_timeout, (int, float)) or not 0 < self.head_timeout < float("inf"):
            raise InvalidOptionError(f"head_timeout must be a positive number of seconds, got {self.head_timeout!r}")


class _Registry:
    """The open connections of one server, idle ones in the order they became idle."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open: set[Any] = set()
        self.idle: OrderedDict[Any, None] = OrderedDict()
        self.evicted = 0
        self.refused = 0


def guarded_protocol(limits: ConnectionLimits) -> type[H11Protocol]:
    """An ``H11Protocol`` subclass enforcing ``limits`` (pass it as uvicorn's ``http``)."""
    registry = _Registry(limits)

    class GuardedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None
        guard = registry

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            registry.open.add(self)
            if len(registry.open) > limits.max_connections and not self._evict_one():
                registry.refused += 1
                registry.open.discard(self)
                transport.write(_BUSY)
                transport.close()
                return
            registry.idle[self] = None
            self._arm_head_timer()

        def _evict_one(self) -> bool:
            while registry.idle:
                oldest, _ = registry.idle.popitem(last=False)
                if oldest is not self and not oldest.transport.is_closing():
                    registry.evicted += 1
                    oldest.transport.close()
                    return True
            return False

        def _in_flight(self) -> bool:
            return self.cycle is not None and not self.cycle.response_complete

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(limits.head_timeout, self._head_timed_out)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if not self._in_flight() and not self.transport.is_closing():
                self.transport.close()

        def handle_events(self) -> None:
            super().handle_events()
            if self._in_flight():  # a complete request head arrived: the app owns the clock now
                self._cancel_head_timer()
                registry.idle.pop(self, None)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and not self._in_flight():
                registry.idle[self] = None
                self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            registry.open.discard(self)
            registry.idle.pop(self, None)
            super().connection_lost(exc)

    return GuardedH11Protocol


_OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class QuietExceptionHandler:
    """An event-loop exception handler that rate-limits descriptor-exhaustion reports."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self.last = -float("inf")
        self.suppressed = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _OUT_OF_DESCRIPTORS:
            now = time.monotonic()
            if now - self.last >= self.every:
                more = f" ({self.suppressed} more since the last report)" if self.suppressed else ""
                log.error("cannot accept connections: %s; lower --max-connections or raise ulimit -n%s", exc, more)
                self.last, self.suppressed = now, 0
            else:
                self.suppressed += 1
            return
        loop.default_exception_handler(context)


def quiet_exception_handler(every: float = 60.0) -> QuietExceptionHandler:
    return QuietExceptionHandler(every)


class RepeatLimiter(logging.Filter):
    """Lets each distinct log message through at most once per ``every`` seconds.

    uvicorn logs one warning per malformed request ("Invalid HTTP request received."):
    a client sending garbage on fresh connections would otherwise fill the log.
    """

    def __init__(self, every: float = 60.0) -> None:
        super().__init__()
        self.every = every
        self._last: dict[str, float] = {}
        self._dropped: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.msg)
        now = time.monotonic()
        if now - self._last.get(key, -float("inf")) < self.every:
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return False
        if len(self._last) > 1024:  # messages with varying text: keep the table bounded
            self._last.clear()
            self._dropped.clear()
        self._last[key] = now
        dropped = self._dropped.pop(key, 0)
        if dropped:
            record.msg = f"{record.msg} ({dropped} more like it in the last {self.every:g} s)"
        return True
