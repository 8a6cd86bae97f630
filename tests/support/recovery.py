"""`wenming dlq` and `wenming reprocess` as an operator runs them, on a test's own servers and streams."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import sqlalchemy as sa

from services.store.schema import sqlalchemy_url
from shared.settings import Settings
from tests.support.wenming_up import WENMING


def settings_environment(settings: Settings) -> dict[str, str]:
    """The WENMING_* variables that name the test's servers, streams, inbox and inline limit."""
    return {
        "WENMING_REDIS_URL": settings.require_redis_url(),
        "WENMING_DATABASE_URL": settings.require_database_url(),
        "WENMING_STREAM_PREFIX": settings.stream_prefix,
        "WENMING_INBOX": str(settings.inbox),
        "WENMING_INLINE_TEXT_BYTES": str(settings.inline_text_bytes),
    }


async def wenming(
    settings: Settings,
    *args: str,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a `wenming` command in a process of its own, while the test's stages run in this one;
    `env` sets variables over the test's own."""
    variables = {**os.environ, **settings_environment(settings), **(env or {})}
    return await asyncio.to_thread(
        subprocess.run,
        [*WENMING, *args],
        capture_output=True,
        text=True,
        env=variables,
        cwd=cwd,
        timeout=timeout,
    )


def scalar(settings: Settings, sql: str, **params: object) -> object:
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar_one()
    finally:
        engine.dispose()


def execute(settings: Settings, statements: Sequence[str]) -> None:
    """Statements as the database's owner, in one transaction."""
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


async def scalar_async(settings: Settings, sql: str, **params: object) -> object:
    return await asyncio.to_thread(scalar, settings, sql, **params)
