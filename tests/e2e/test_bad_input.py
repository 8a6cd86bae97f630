"""Two hundred bad files dropped into a running pipeline: each fails with its reason, nothing stops."""

from __future__ import annotations

import asyncio
import shutil
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa
from faststream import TestApp

from services.extract.app import create_app as create_extract
from services.ingest.app import create_app as create_ingest
from services.normalize.app import create_app as create_normalize
from services.store.app import create_app as create_store
from services.store.schema import sqlalchemy_url
from shared.settings import Settings
from tests.support.bad_files import write_bad_files
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e
BAD_FILES = 200


def _scalar(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


async def test_bad_files_fail_with_reasons_and_good_ones_are_stored(
    settings: Settings, seeds_dir: Path, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"max_file_bytes": 200_000})
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    outside = tmp_path / "outside"
    outside.mkdir()
    seeds = sorted(seeds_dir.glob("*.txt"))
    async with AsyncExitStack() as stack:
        apps = [
            create(settings) for create in (create_store, create_extract, create_normalize, create_ingest)
        ]
        for app in apps:
            await stack.enter_async_context(TestApp(app))
        names = write_bad_files(settings.inbox, outside, count=BAD_FILES, max_bytes=settings.max_file_bytes)
        for seed in seeds[:2]:
            shutil.copy(seed, settings.inbox / seed.name)

        failed_folder = settings.inbox / "failed"
        await eventually(
            lambda: asyncio.to_thread(
                lambda: sum(1 for p in failed_folder.iterdir() if not p.name.endswith(".error.txt"))
            ),
            lambda n: n == BAD_FILES,
            timeout=120,
        )
        # The pipeline kept going: good files dropped after the bad ones are stored too.
        for seed in seeds[2:]:
            shutil.copy(seed, settings.inbox / seed.name)
        await eventually(
            lambda: asyncio.to_thread(_scalar, engine, "SELECT count(*) FROM documents"),
            lambda n: n == len(seeds),
            timeout=60,
        )
        failures = await eventually(
            lambda: asyncio.to_thread(
                _scalar, engine, "SELECT count(*) FROM ingest_log WHERE status = 'failed'"
            ),
            lambda n: n == BAD_FILES,
            timeout=30,
        )
        assert all(app.broker.running for app in apps)  # type: ignore[union-attr]

    assert failures == BAD_FILES
    for name in names:
        error_file = failed_folder / f"{name}.error.txt"
        assert (failed_folder / name).is_symlink() or (failed_folder / name).is_file(), name
        reason = error_file.read_text(encoding="utf-8").strip()
        assert reason and "\n" not in reason, name
    assert not any(p for p in settings.inbox.iterdir() if p.is_file() or p.is_symlink())
    assert all(p.exists() for p in outside.iterdir())
    with engine.connect() as conn:
        reasons = [
            r for (r,) in conn.execute(sa.text("SELECT reason FROM ingest_log WHERE status = 'failed'"))
        ]
    assert all(reasons)
    engine.dispose()
