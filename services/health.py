"""Health checks for containers: can this stage reach what it needs?"""

from __future__ import annotations

import redis.asyncio as aioredis
import sqlalchemy as sa

from services.store.schema import sqlalchemy_url
from shared.settings import Settings, SettingsError


async def check_stage(settings: Settings, stage: str) -> list[str]:
    """Problems that keep `stage` from working; empty when healthy."""
    problems: list[str] = []
    try:
        client = aioredis.from_url(settings.require_redis_url(), socket_timeout=3)
        try:
            await client.ping()
        finally:
            await client.aclose()
    except (SettingsError, aioredis.RedisError, OSError) as exc:
        problems.append(f"Redis: {exc}")
    if stage == "store":
        try:
            engine = sa.create_engine(
                sqlalchemy_url(settings.require_database_url()), connect_args={"connect_timeout": 3}
            )
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1 FROM documents LIMIT 1"))
            engine.dispose()
        except (SettingsError, sa.exc.SQLAlchemyError) as exc:
            problems.append(f"Postgres: {str(exc).splitlines()[0]}")
    if stage == "ingest" and not settings.inbox.is_dir():
        problems.append(f"inbox {settings.inbox} is not a folder")
    return problems
