"""All four stages, files in, rows out, on real Redis and Postgres."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
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
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


def _scalar(engine: sa.Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


async def _scalar_async(engine: sa.Engine, sql: str) -> object:
    return await asyncio.to_thread(_scalar, engine, sql)


async def test_seeds_dropped_in_the_inbox_become_rows_once(settings: Settings, seeds_dir: Path) -> None:
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    seeds = sorted(seeds_dir.glob("*.txt"))
    async with AsyncExitStack() as stack:
        for create in (create_store, create_extract, create_normalize, create_ingest):
            await stack.enter_async_context(TestApp(create(settings)))
        for seed in seeds:
            shutil.copy(seed, settings.inbox / seed.name)
        await eventually(
            lambda: _scalar_async(engine, "SELECT count(*) FROM documents"),
            lambda n: n == len(seeds),
            timeout=60,
        )
        metrics = _scalar(engine, "SELECT count(*) FROM metrics")
        assert isinstance(metrics, int) and metrics >= 150

        traditional = next(s for s in seeds if s.name.startswith("000_"))
        with engine.connect() as conn:
            script, simplified, original = conn.execute(
                sa.text("SELECT script, simplified_text, original_text FROM documents WHERE file_name = :f"),
                {"f": traditional.name},
            ).one()
        assert script == "traditional"
        assert "为群众创造高品质生活" in simplified and "為群眾創造高品質生活" in original
        # Every figure is traceable to its place in the original text.
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT d.original_text, m.start_offset, m.end_offset, m.surface "
                    "FROM metrics m JOIN documents d ON d.id = m.document_id"
                )
            ).all()
        assert all(text[start:end] == surface for text, start, end, surface in rows)

        # The same file dropped again, under another name, adds nothing.
        shutil.copy(traditional, settings.inbox / "again.txt")
        await eventually(
            lambda: _scalar_async(engine, "SELECT count(*) FROM ingest_log WHERE file_name = 'again.txt'"),
            lambda n: n == 1,
            timeout=30,
        )
        assert _scalar(engine, "SELECT count(*) FROM documents") == len(seeds)
        assert _scalar(engine, "SELECT count(*) FROM metrics") == metrics
    engine.dispose()


def test_wenming_up_env_and_lag_on_given_servers(settings: Settings, seeds_dir: Path, tmp_path: Path) -> None:
    """The README path: `wenming up`, drop files, `wenming env` and `wenming lag --json` agree."""
    env = {
        **os.environ,
        "WENMING_REDIS_URL": settings.require_redis_url(),
        "WENMING_DATABASE_URL": settings.require_database_url(),
        "WENMING_STREAM_PREFIX": settings.stream_prefix,
        "WENMING_FILE_MIN_AGE_S": "0.3",
    }
    inbox = tmp_path / "drop"
    wenming = [sys.executable, "-m", "services.cli"]
    up = subprocess.Popen(
        [*wenming, "up", "--inbox", str(inbox)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
        # The store migrates the fresh database as it starts.
        asyncio.run(
            eventually(
                lambda: _scalar_async(engine, "SELECT to_regclass('ingest_log') IS NOT NULL"),
                bool,
                timeout=60,
            )
        )
        for seed in sorted(seeds_dir.glob("*.txt")):
            inbox.mkdir(exist_ok=True)
            shutil.copy(seed, inbox / f"up-{seed.name}")
        asyncio.run(
            eventually(
                lambda: _scalar_async(engine, "SELECT count(*) FROM ingest_log"),
                lambda n: n == 5,
                timeout=90,
            )
        )
        engine.dispose()
        printed = subprocess.run(
            [*wenming, "env"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
        ).stdout
        assert f"WENMING_REDIS_URL={settings.redis_url}" in printed

        async def read_lag() -> list[dict[str, object]]:
            command = [*wenming, "lag", "--json"]
            done = await asyncio.to_thread(
                subprocess.run, command, cwd=tmp_path, env=env, capture_output=True, text=True, check=True
            )
            return list(json.loads(done.stdout))

        # Rows are committed before the entries are acknowledged: wait for the acks too.
        lag = asyncio.run(
            eventually(
                read_lag, lambda rows: all(r["lag"] == 0 and r["pending"] == 0 for r in rows), timeout=30
            )
        )
        assert [row["stage"] for row in lag] == ["ingest", "normalize", "extract", "store", "store"]
        assert all(row["health"] == "idle" for row in lag), lag
        assert all(any(c["alive"] for c in row["consumers"]) for row in lag)
        assert sorted(p.name for p in (inbox / "done").iterdir()) == sorted(
            f"up-{s.name}" for s in seeds_dir.glob("*.txt")
        )
    finally:
        up.send_signal(signal.SIGINT)
        output = up.communicate(timeout=60)[0].decode(errors="replace")
    assert up.returncode == 0, output
    assert not (tmp_path / ".wenming" / "instance.json").exists()


def test_wenming_up_with_nothing_configured_runs_on_embedded_servers(seeds_dir: Path, tmp_path: Path) -> None:
    """A machine with no Redis or Postgres: `wenming up` brings its own, `wenming env` finds them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENMING_")}
    env["WENMING_FILE_MIN_AGE_S"] = "0.3"
    wenming = [sys.executable, "-m", "services.cli"]
    up = subprocess.Popen(
        [*wenming, "up"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:

        async def instance() -> str:
            done = await asyncio.to_thread(
                subprocess.run, [*wenming, "env"], cwd=tmp_path, env=env, capture_output=True, text=True
            )
            return done.stdout if done.returncode == 0 else ""

        printed = asyncio.run(eventually(instance, bool, timeout=90))
        urls = dict(line.split("=", 1) for line in printed.splitlines())
        database_url = urls["WENMING_DATABASE_URL"].strip("'")
        assert urls["WENMING_REDIS_URL"].startswith("redis://127.0.0.1:")
        for seed in sorted(seeds_dir.glob("*.txt")):
            shutil.copy(seed, tmp_path / "inbox" / seed.name)
        engine = sa.create_engine(sqlalchemy_url(database_url))
        migrated = "SELECT to_regclass('documents') IS NOT NULL"
        asyncio.run(eventually(lambda: _scalar_async(engine, migrated), bool, timeout=60))
        asyncio.run(
            eventually(
                lambda: _scalar_async(engine, "SELECT count(*) FROM documents"), lambda n: n == 5, timeout=90
            )
        )
        engine.dispose()
    finally:
        up.send_signal(signal.SIGINT)
        output = up.communicate(timeout=60)[0].decode(errors="replace")
    assert up.returncode == 0, output
    assert "started embedded Redis" in output and "started embedded Postgres" in output
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert leftovers == "", f"still running: {leftovers}"
