"""Waiting for the servers a stage needs when it starts: capped exponential backoff with jitter.

A stage started before Redis or Postgres (a reboot, `docker compose up`, a restart of the
database) waits for them instead of exiting, and says so once when the wait starts, once when the
reason changes and once when the server is back: not a traceback per retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from faststream import FastStream
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
T = TypeVar("T")

FIRST_DELAY_S = 0.25
# A server that comes back is noticed within this long; retries this far apart cost it nothing.
MAX_DELAY_S = 5.0
_CONNECT_TIMEOUT_S = 5.0


class StageApp(FastStream):
    """A FastStream app whose stop (SIGINT, SIGTERM) also ends a wait for servers in its lifespan.

    FastStream acts on its stop signal only once the lifespan has started, and the lifespan is
    where a stage waits: without this, a stage waiting for Postgres could not be stopped.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopping = asyncio.Event()

    def exit(self) -> None:
        self.stopping.set()
        super().exit()


class StoppedWhileWaiting(SystemExit):
    """Told to stop before its servers came: the process ends quietly, with status 0."""


@dataclass(frozen=True)
class Server:
    """A server as the logs name it, and which failures mean it is not there (yet)."""

    name: str
    address: str  # host:port, never the credentials
    is_away: Callable[[BaseException], bool]


async def wait_until_up(
    server: Server,
    attempt: Callable[[], Awaitable[T]],
    *,
    stopping: asyncio.Event,
    first_delay_s: float = FIRST_DELAY_S,
    max_delay_s: float = MAX_DELAY_S,
) -> T:
    """The result of `attempt`, retried while `server` is away; other failures are raised at once."""
    delay = first_delay_s
    since: float | None = None
    reason: str | None = None
    while True:
        if stopping.is_set():
            log.info("stopped while waiting for %s at %s", server.name, server.address)
            raise StoppedWhileWaiting(0)
        try:
            result = await attempt()
        except Exception as exc:
            if not server.is_away(exc):
                raise
            if since is None:
                since = time.monotonic()
            if _first_line(exc) != reason:
                reason = _first_line(exc)
                log.warning(
                    "waiting for %s at %s (%s); retrying, at most %gs apart",
                    server.name,
                    server.address,
                    reason,
                    max_delay_s,
                )
            # Jitter, so that replicas started together do not knock in step.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), random.uniform(delay / 2, delay))
            delay = min(delay * 2, max_delay_s)
            continue
        if since is not None:
            log.info("%s is back at %s after %.1fs", server.name, server.address, time.monotonic() - since)
        return result


def server_address(url: str, default_port: int) -> str:
    """host:port (or socket path) of a server URL, without user or password."""
    parts = urlsplit(url)
    if parts.hostname:
        return f"{parts.hostname}:{parts.port or default_port}"
    socket_dir = parse_qs(parts.query).get("host")
    return socket_dir[0] if socket_dir else parts.path or "localhost"


def _redis_is_away(error: BaseException) -> bool:
    # Refused, reset, timed out, still loading its data, or refusing our password: all logged, all waited for.
    return isinstance(error, RedisConnectionError | RedisTimeoutError | OSError)


def redis_server(redis_url: str) -> Server:
    return Server("Redis", server_address(redis_url, 6379), _redis_is_away)


async def wait_for_redis(redis_url: str, *, stopping: asyncio.Event) -> None:
    """Return once Redis answers a PING."""

    async def ping() -> None:
        client = aioredis.from_url(
            redis_url, socket_connect_timeout=_CONNECT_TIMEOUT_S, socket_timeout=_CONNECT_TIMEOUT_S
        )
        try:
            await client.ping()
        finally:
            await client.aclose()

    await wait_until_up(redis_server(redis_url), ping, stopping=stopping)


def _first_line(error: BaseException) -> str:
    # SQLAlchemy wraps the driver's error in a longer text; the driver's own says it all.
    error = getattr(error, "orig", None) or error
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
