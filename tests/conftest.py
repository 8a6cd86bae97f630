"""Real servers for the tests: testcontainers if Docker answers, else WENMING_TEST_* URLs, else embedded."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shared.settings import Settings
from tests.support.databases import own_database
from tests.support.reference import SEEDS_DIR


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def docker_available() -> bool:
    return _docker_answers()


@contextmanager
def _folder_servers_can_reach() -> Iterator[Path]:
    """A temporary folder outside pytest's own, for the data of servers started by the tests.

    pytest makes its folder private again whenever another test session starts on the machine,
    and Postgres, which runs as a user of its own when the suite runs as root, then loses its
    files mid-suite: the checkpoint after a DROP DATABASE cannot open pg_control, and it stops.
    """
    folder = Path(tempfile.mkdtemp(prefix="wenming-tests-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def server_tmp_path() -> Iterator[Path]:
    """Like tmp_path, for a test that starts servers (`wenming up`) in it."""
    with _folder_servers_can_reach() as folder:
        yield folder


@pytest.fixture(scope="session")
def redis_url(docker_available: bool) -> Iterator[str]:
    """A real Redis server for this test run."""
    if docker_available:
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7-alpine") as container:
            yield f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"
        return
    if url := os.environ.get("WENMING_TEST_REDIS_URL"):
        yield url
        return
    from services.operate.embedded import EmbeddedRedis

    with _folder_servers_can_reach() as folder:
        server = EmbeddedRedis(folder / "redis")
        yield server.start()
        server.stop()


@pytest.fixture(scope="session")
def postgres_server_url(docker_available: bool) -> Iterator[str]:
    """A real Postgres server for this test run (its maintenance database)."""
    if docker_available:
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    if url := os.environ.get("WENMING_TEST_DATABASE_URL"):
        yield url
        return
    from services.operate.embedded import EmbeddedPostgres

    with _folder_servers_can_reach() as folder:
        server = EmbeddedPostgres(folder / "postgres", database="postgres")
        yield server.start()
        server.stop()


@pytest.fixture
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A database of this test's own, dropped at the end."""
    with own_database(postgres_server_url) as url:
        yield url


@pytest.fixture
def stream_prefix(redis_url: str) -> Iterator[str]:
    """Stream names of this test's own, deleted afterwards."""
    import redis

    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def settings(redis_url: str, database_url: str, stream_prefix: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own streams and inbox, quick timings."""
    return Settings(
        redis_url=redis_url,
        database_url=database_url,
        stream_prefix=stream_prefix,
        inbox=tmp_path / "inbox",
        file_min_age_s=0.3,
        rescan_interval_s=0.5,
        reclaim_idle_ms=2_000,
        batch_size=16,
    )


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS_DIR
