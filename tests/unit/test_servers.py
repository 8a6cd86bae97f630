"""Waiting for servers at start: backoff, jitter, one log line per change, a stop that ends the wait."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import OperationalError, ProgrammingError

import shared.servers as servers_module
from services.store.database import is_server_away
from shared.servers import Server, StoppedWhileWaiting, redis_server, server_address, wait_until_up

AWAY = Server("Redis", "127.0.0.1:6399", lambda e: isinstance(e, ConnectionError))


class Flaky:
    """Fails with the given errors, one per call, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "answer"


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """The (shortest, longest) pause of each retry, drawn at random between them."""
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return random.Random(0).uniform(low, high) / 100  # the test need not sleep

    monkeypatch.setattr(servers_module.random, "uniform", uniform)
    return drawn


async def test_retries_back_off_exponentially_with_jitter_up_to_a_cap(
    pauses: list[tuple[float, float]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shared.servers")
    attempt = Flaky(*[ConnectionError("Connection refused")] * 6)

    answer = await wait_until_up(AWAY, attempt, stopping=asyncio.Event(), first_delay_s=1, max_delay_s=8)

    assert answer == "answer" and attempt.calls == 7
    assert pauses == [(0.5, 1), (1, 2), (2, 4), (4, 8), (4, 8), (4, 8)]
    messages = [r.getMessage() for r in caplog.records]
    assert (
        messages[0] == "waiting for Redis at 127.0.0.1:6399 (Connection refused); retrying, at most 8s apart"
    )
    assert messages[1].startswith("Redis is back at 127.0.0.1:6399 after ")
    assert len(messages) == 2  # not one line per retry


async def test_a_new_reason_is_logged_once_too(
    pauses: list[tuple[float, float]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shared.servers")
    refused, starting = (
        ConnectionError("Connection refused"),
        ConnectionError("the database system is starting up"),
    )
    await wait_until_up(AWAY, Flaky(refused, refused, starting, starting), stopping=asyncio.Event())
    waiting = [r.getMessage() for r in caplog.records if r.getMessage().startswith("waiting")]
    assert len(waiting) == 2 and "starting up" in waiting[1]


async def test_failures_that_waiting_cannot_fix_are_raised_at_once(pauses: list[tuple[float, float]]) -> None:
    attempt = Flaky(ValueError("no such indicator"))
    with pytest.raises(ValueError):
        await wait_until_up(AWAY, attempt, stopping=asyncio.Event())
    assert attempt.calls == 1


async def test_a_stop_ends_the_wait_quietly() -> None:
    stopping = asyncio.Event()
    attempt = Flaky(*[ConnectionError("Connection refused")] * 1000)
    asyncio.get_running_loop().call_later(0.2, stopping.set)
    # Awaited in this task, not wrapped in one: a SystemExit leaving a task stops the event loop.
    with pytest.raises(StoppedWhileWaiting) as stopped:
        async with asyncio.timeout(5):
            await wait_until_up(AWAY, attempt, stopping=stopping, max_delay_s=60)
    assert stopped.value.code == 0


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("redis://127.0.0.1:6379/0", "127.0.0.1:6379"),
        ("redis://:secret@cache/0", "cache:6379"),
        ("unix:///run/redis/redis.sock", "/run/redis/redis.sock"),
        ("postgresql://store:secret@db.internal:5433/wenming", "db.internal:5433"),
        ("postgresql://postgres@/wenming?host=/var/run/postgresql", "/var/run/postgresql"),
    ],
)
def test_addresses_are_shown_without_credentials(url: str, address: str) -> None:
    assert server_address(url, 6379 if url.startswith(("redis", "unix")) else 5432) == address


def test_redis_away_covers_refused_timed_out_and_loading() -> None:
    away = redis_server("redis://127.0.0.1:6379/0").is_away
    assert away(RedisConnectionError("Error 111 connecting")) and away(OSError(111, "refused"))
    assert not away(ValueError("bad"))


class _Orig(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "away"),
    [
        (OperationalError("connect", {}, _Orig(None)), True),  # refused, or a FATAL at connect time
        (OperationalError("SELECT 1", {}, _Orig("57P03")), True),  # starting up
        (OperationalError("SELECT 1", {}, _Orig("08006")), True),  # connection lost
        (OperationalError("SELECT 1", {}, _Orig("53300")), True),  # too many connections
        (ProgrammingError("CREATE DATABASE", {}, _Orig("42501")), False),  # no permission: waiting won't help
        (ValueError("bad"), False),
    ],
)
def test_postgres_away_is_told_from_postgres_refusing(error: Exception, away: bool) -> None:
    assert is_server_away(error) is away
