"""All four stages, files in, rows out, on real Redis and Postgres."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from faststream import TestApp

from services.extract.app import create_app as create_extract
from services.ingest.app import create_app as create_ingest
from services.normalize.app import create_app as create_normalize
from services.operate.embedded import pg_bin_dir
from services.store.app import create_app as create_store
from services.store.schema import sqlalchemy_url
from shared.settings import Settings
from shared.streams import STAGES
from tests.support.polling import eventually
from tests.support.wenming_up import WENMING, RunningPipeline

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
    up = RunningPipeline("--inbox", str(inbox), cwd=tmp_path, env=env)
    try:
        started = asyncio.run(eventually(up.started_lines, bool, timeout=90))
        assert started[0] == f"Redis:     {settings.redis_url} (WENMING_REDIS_URL)"
        for seed in sorted(seeds_dir.glob("*.txt")):
            shutil.copy(seed, inbox / f"up-{seed.name}")
        engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
        asyncio.run(
            eventually(
                lambda: _scalar_async(engine, "SELECT count(*) FROM ingest_log"),
                lambda n: n == 5,
                timeout=90,
            )
        )
        engine.dispose()
        printed = subprocess.run(
            [*WENMING, "env"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
        ).stdout
        assert f"export WENMING_REDIS_URL={settings.redis_url}\n" in printed

        # Rows are committed before the entries are acknowledged: wait for the acks too.
        lag = asyncio.run(
            eventually(
                lambda: _lag(tmp_path, env),
                lambda report: all(r["lag"] == 0 and r["pending"] == 0 for r in report["stages"]),
                timeout=30,
            )
        )
        assert [row["stage"] for row in lag["stages"]] == ["ingest", "normalize", "extract", "store", "store"]
        assert lag["verdict"] == "healthy" and lag["dead_letters"] == 0, lag
        assert all(any(c["alive"] for c in row["consumers"]) for row in lag["stages"])
        assert sorted(p.name for p in (inbox / "done").iterdir()) == sorted(
            f"up-{s.name}" for s in seeds_dir.glob("*.txt")
        )
    finally:
        code = up.interrupt()
    assert code == 0, up.output
    assert "Traceback" not in up.output and "\x1b" not in up.output, up.output
    assert not (tmp_path / ".wenming" / "instance.json").exists()
    # A clean stop retires the consumers: nothing is left for `wenming lag` to list as gone.
    after = asyncio.run(_lag(tmp_path, env))
    assert after["verdict"] == "stopped"
    assert all(row["consumers"] == [] for row in after["stages"]), after


def test_wenming_up_with_nothing_configured_runs_on_embedded_servers(
    seeds_dir: Path, server_tmp_path: Path
) -> None:
    """A machine with no Redis or Postgres: `wenming up` brings its own, says so in a few lines,
    `eval "$(wenming env)"` and psql over TCP reach them, and Ctrl-C stops everything cleanly."""
    folder = server_tmp_path
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENMING_")}
    env["WENMING_FILE_MIN_AGE_S"] = "0.3"
    up = RunningPipeline(cwd=folder, env=env)
    try:
        started = asyncio.run(eventually(up.started_lines, bool, timeout=90))
        assert len(started) < 10, up.output
        assert started[0].startswith("Redis:     redis://127.0.0.1:") and "embedded" in started[0]
        assert (
            started[1].startswith("Postgres:  postgresql://postgres@127.0.0.1:") and "embedded" in started[1]
        )
        assert sorted(line.split()[0] for line in started if line.endswith(" ready")) == sorted(STAGES)

        shell = f'eval "$({shlex.join(WENMING)} env)"; {sys.executable} -c ' + shlex.quote(
            'import os; print(os.environ["WENMING_DATABASE_URL"])'
        )
        database_url = subprocess.run(
            ["bash", "-c", shell], cwd=folder, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        assert database_url.startswith("postgresql://postgres@127.0.0.1:"), database_url
        for seed in sorted(seeds_dir.glob("*.txt")):
            shutil.copy(seed, folder / "inbox" / seed.name)
        (folder / "inbox" / "empty.txt").write_bytes(b"")
        engine = sa.create_engine(sqlalchemy_url(database_url))
        asyncio.run(
            eventually(
                lambda: _scalar_async(engine, "SELECT count(*) FROM documents"), lambda n: n == 5, timeout=90
            )
        )
        engine.dispose()
        # Over TCP, as a BI tool connects, with the psql that the embedded server ships.
        psql = subprocess.run(
            [str(pg_bin_dir() / "psql"), database_url, "-Atc", "SELECT count(*) FROM documents"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert psql.stdout.strip() == "5"
        # The embedded Redis is 6.2, which keeps no count of a stream's entries: dead letters still add up.
        lag = asyncio.run(
            eventually(lambda: _lag(folder, env), lambda report: report["dead_letters"] == 1, timeout=30)
        )
        assert (folder / "inbox" / "failed" / "empty.txt").exists(), lag
    finally:
        code = up.interrupt()
    assert code == 0, up.output
    assert "Traceback" not in up.output and "\x1b" not in up.output, up.output
    assert up.lines[-1] == "stopped", up.output
    leftovers = subprocess.run(["pgrep", "-f", str(folder)], capture_output=True, text=True).stdout
    assert leftovers == "", f"still running: {leftovers}"


async def _lag(cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    done = await asyncio.to_thread(
        subprocess.run, [*WENMING, "lag", "--json"], cwd=cwd, env=env, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout))
