"""Health checks for containers: can this stage reach what it needs; does the stage itself say it is well?"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import redis.asyncio as aioredis

from shared.server_urls import redis_failure, server_address
from shared.settings import Settings, SettingsError

# A SQLAlchemy-style scheme (postgresql+psycopg://) names a driver; libpq wants the plain one.
_DRIVER_SCHEME = re.compile(r"^postgres(?:ql)?\+\w+://")


async def check_stage(settings: Settings, stage: str) -> list[str]:
    """Problems that keep `stage` from working; empty when healthy."""
    problems: list[str] = []
    try:
        redis_url = settings.require_redis_url()
    except SettingsError as exc:
        problems.append(str(exc))
    else:
        client = aioredis.from_url(redis_url, socket_timeout=3)
        try:
            await client.ping()
        except (aioredis.RedisError, OSError) as exc:
            reason = redis_failure(exc, redis_url=redis_url)
            problems.append(f"Redis at {server_address(redis_url, 6379)}: {reason}")
        finally:
            await client.aclose()
    if stage == "store":
        try:
            _check_documents_table(settings.require_database_url())
        except (SettingsError, OSError) as exc:
            problems.append(f"Postgres: {str(exc).splitlines()[0]}")
    if stage == "ingest" and not settings.inbox.is_dir():
        problems.append(f"inbox {settings.inbox} is not a folder")
    return problems


def _check_documents_table(database_url: str) -> None:
    """Raise unless the store's database answers and is migrated."""
    # psycopg alone, not SQLAlchemy: a health check runs every few seconds and should start fast.
    import psycopg

    try:
        with psycopg.connect(_DRIVER_SCHEME.sub("postgresql://", database_url), connect_timeout=3) as conn:
            conn.execute("SELECT 1 FROM documents LIMIT 1")
    except psycopg.Error as exc:
        raise OSError(str(exc)) from exc


def check_endpoint(settings: Settings, stage: str, *, timeout_s: float = 8.0) -> list[str]:
    """What `stage`, running here, says on its /health (WENMING_METRICS_PORT); empty when healthy."""
    if not settings.metrics_port:
        return ["WENMING_METRICS_PORT is 0: the stage serves no /health"]
    host = settings.metrics_host
    if host in ("0.0.0.0", "::"):  # listening everywhere: ask it on this machine
        host = "127.0.0.1"
    url = f"http://{host}:{settings.metrics_port}/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            said = response.read().decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:  # 503, with the stage's reason in one line
        said = exc.read().decode("utf-8", "replace").strip() or f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return [f"no answer from {url}: {getattr(exc, 'reason', exc)}"]
    answering, _, verdict = said.partition(": ")
    if answering != stage:  # another stage's port (`wenming up` gives each its own)
        return [f"{url} answers for {answering or 'something else'}, not {stage}"]
    return [] if verdict == "healthy" else [verdict]
