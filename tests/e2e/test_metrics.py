"""Every stage's /metrics against `wenming lag --json` and Postgres, on real servers, scraped over HTTP and
read with prometheus_client's own parser; and every metric the Grafana board queries, exported by a
running stage."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.operate.endpoint import READING_KEPT_S
from services.store.schema import sqlalchemy_url
from shared.metric_names import FASTSTREAM_METRICS, PIPELINE_METRICS
from shared.settings import Settings
from shared.streams import STAGES, Topology
from tests.fault.rig import corpus, drop
from tests.support.endpoint import Scrape, wait_for_health
from tests.support.polling import eventually
from tests.support.servers import free_port, free_ports, stop
from tests.support.wenming_up import WENMING, RunningPipeline

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BOARD = ROOT / "deploy/grafana/dashboards/wenming-pipeline.json"
GAUGES = ("wenming_stream_lag", "wenming_stream_pending", "wenming_live_consumers")


def _environment(settings: Settings, inbox: Path) -> dict[str, str]:
    return {
        **os.environ,
        "WENMING_REDIS_URL": settings.require_redis_url(),
        "WENMING_DATABASE_URL": settings.require_database_url(),
        "WENMING_STREAM_PREFIX": settings.stream_prefix,
        "WENMING_INBOX": str(inbox),
        "WENMING_FILE_MIN_AGE_S": "0.3",
        "WENMING_RESCAN_INTERVAL_S": "1",
    }


@contextmanager
def serving(stage: str, env: dict[str, str], log_file: Path) -> Iterator[int]:
    """`wenming serve STAGE` on a free metrics port (yielded), healthy; stopped by its PID on leaving."""
    port = free_port()
    with log_file.open("wb") as sink:
        process = subprocess.Popen(
            [*WENMING, "serve", stage],
            env={**env, "WENMING_METRICS_PORT": str(port), "WENMING_METRICS_HOST": "127.0.0.1"},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_health(port, lambda status: status == 200, timeout=180)
        yield port
    finally:
        stop(process)


def _lag(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([*WENMING, "lag", "--json"], env=env, capture_output=True, text=True, timeout=60)
    return dict(json.loads(done.stdout))


def _per_stage(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """`wenming lag --json` as the gauges put it: one value per stage, over its streams."""
    stages: dict[str, dict[str, float]] = {}
    for row in report["stages"]:
        seen = stages.setdefault(row["stage"], {"lag": 0, "pending": 0, "live": 0, "oldest": 0.0})
        seen["lag"] += row["lag"]
        seen["pending"] += row["pending"]
        seen["oldest"] = max(seen["oldest"], row["oldest_pending_age_s"] or 0.0)
    for stage in stages:
        names = {
            c["name"] for r in report["stages"] if r["stage"] == stage for c in r["consumers"] if c["alive"]
        }
        stages[stage]["live"] = len(names)
    return stages


def _agree(scrape: Scrape, report: dict[str, Any], *, with_ingest: bool) -> None:
    expected = _per_stage(report)
    if not with_ingest:  # only ingest reads its inbox
        expected.pop("ingest")
    for stage, values in expected.items():
        for gauge, key in zip(GAUGES, ("lag", "pending", "live"), strict=True):
            assert scrape.by_label(gauge, "stage")[stage] == values[key], (gauge, stage, values)
        # Nothing is pending in the moments compared: no age on either side.
        assert scrape.by_label("wenming_oldest_pending_age_seconds", "stage")[stage] == values["oldest"] == 0
    assert set(scrape.by_label("wenming_stream_lag", "stage")) == set(expected)


def _scalar(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def test_each_stage_counts_what_lag_and_postgres_say(settings: Settings, tmp_path: Path) -> None:
    """Served per stage: the gauges agree with `wenming lag --json` while extract is not running (its work
    waits) and once everything is stored; the counters agree with each other and with Postgres."""
    files = corpus(60, seed=11)
    count, figures = len(files), sum(len(f.figures) for f in files)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = _environment(settings, inbox)
    topology = Topology(settings.stream_prefix)
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    with ExitStack() as stages:
        ports = {
            s: stages.enter_context(serving(s, env, tmp_path / f"{s}.log"))
            for s in ("store", "ingest", "normalize")
        }
        drop(inbox, files)
        (inbox / "empty.txt").write_bytes(b"")  # a dead letter, written by ingest and recorded by the store

        def extract_waits(report: dict[str, Any]) -> bool:
            stages = _per_stage(report)
            return (
                stages["extract"]["lag"] == count
                and report["dead_letters"] == 1
                and all(v["lag"] == v["pending"] == 0 for s, v in stages.items() if s != "extract")
                and not any(inbox.glob("*.txt"))
            )

        waiting = asyncio.run(eventually(lambda: asyncio.to_thread(_lag, env), extract_waits, timeout=120))
        assert _per_stage(waiting)["extract"]["live"] == 0
        time.sleep(READING_KEPT_S + 0.5)  # nothing moves now: the gauges' last reading is older than this
        for stage, port in ports.items():
            _agree(Scrape(port), waiting, with_ingest=stage == "ingest")

        ports["extract"] = stages.enter_context(serving("extract", env, tmp_path / "extract.log"))

        def all_stored(report: dict[str, Any]) -> bool:
            done = all(v["lag"] == v["pending"] == 0 for v in _per_stage(report).values())
            return done and _scalar(engine, "SELECT count(*) FROM documents") == count

        report = asyncio.run(eventually(lambda: asyncio.to_thread(_lag, env), all_stored, timeout=180))
        time.sleep(READING_KEPT_S + 0.5)
        # The dead letter was news to the first check, while extract waited: now all is well.
        assert report["verdict"] == "healthy" and report["new_dead_letters"] == 0, report
        scrapes = {stage: Scrape(port) for stage, port in ports.items()}
        for stage, scrape in scrapes.items():
            _agree(scrape, report, with_ingest=stage == "ingest")
            assert scrape.by_label("wenming_live_consumers", "stage")["extract"] == 1

        ingest = scrapes["ingest"]
        assert (
            ingest.value(
                "faststream_published_messages_total", destination=topology.ingested, status="success"
            )
            == count
        )
        assert ingest.value("wenming_dead_letters_total", stage="ingest") == report["dead_letters"] == 1
        assert ingest.value("wenming_inbox_backlog") == 0

        for stage, source, target in (
            ("normalize", topology.ingested, topology.normalized),
            ("extract", topology.normalized, topology.extracted),
        ):
            scrape = scrapes[stage]
            # Nothing was taken back in this run: faststream's count and the wiring's agree.
            assert scrape.value("wenming_entries_received_total", stream=source, source="read") == count
            assert scrape.value("wenming_entries_received_total", stream=source, source="taken_back") == 0
            assert scrape.value("faststream_received_messages_total", handler=source) == count
            assert (
                scrape.value("faststream_received_processed_messages_total", handler=source, status="acked")
                == count
            )
            assert scrape.value("wenming_entries_acknowledged_total", stream=source) == count
            assert scrape.value("wenming_entries_failed_total", stream=source) == 0
            assert scrape.value("wenming_dead_letters_total", stage=stage) == 0
            assert (
                scrape.value("faststream_published_messages_total", destination=target, status="success")
                == count
            )
            assert (
                scrape.value("faststream_received_processed_messages_duration_seconds_count", handler=source)
                >= 1
            )

        store = scrapes["store"]
        assert store.value("wenming_entries_acknowledged_total", stream=topology.extracted) == count
        assert store.value("wenming_entries_received_total", stream=topology.dead_letter) == 1
        assert store.value("wenming_entries_acknowledged_total", stream=topology.dead_letter) == 1
        assert (
            store.value("wenming_documents_stored_total")
            == _scalar(engine, "SELECT count(*) FROM documents")
            == count
        )
        assert (
            store.value("wenming_figures_stored_total")
            == _scalar(engine, "SELECT count(*) FROM metrics")
            == figures
        )
        assert _scalar(engine, "SELECT count(*) FROM ingest_log WHERE status = 'failed'") == 1
        # Every document came from the inbox in this run: each has its drop-to-stored time.
        assert store.value("wenming_drop_to_stored_seconds_count") == count
        assert 0 < store.value("wenming_drop_to_stored_seconds_sum") / count < 180
    engine.dispose()


def _board_series() -> set[str]:
    """The sample names the board's queries select, as Grafana would send them."""
    promql = pytest.importorskip("promql_parser")
    board = json.loads(BOARD.read_text(encoding="utf-8"))
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, promql.VectorSelector):
            names.add(node.name)
        for child in ("expr", "lhs", "rhs", "vector_selector"):
            if hasattr(node, child):
                walk(getattr(node, child))
        for arg in getattr(node, "args", None) or []:
            walk(arg)

    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = re.sub(r"\$__\w+", "1m", target["expr"]).replace("$stage", ".*")
            walk(promql.parse(expr))
    return names


def test_wenming_up_serves_every_stage_on_its_port_with_every_metric_the_board_queries(
    settings: Settings, tmp_path: Path
) -> None:
    base = free_ports(len(STAGES))
    inbox = tmp_path / "drop"
    env = {**_environment(settings, inbox), "WENMING_METRICS_PORT": str(base)}
    up = RunningPipeline(
        "--inbox", str(inbox), "--data-dir", str(tmp_path / ".wenming"), cwd=tmp_path, env=env
    )
    try:
        started = asyncio.run(eventually(up.started_lines, bool, timeout=120))
        assert started[3] == (
            f"metrics:   /metrics and /health on 127.0.0.1, ports {base} (ingest), {base + 1} (normalize), "
            f"{base + 2} (extract), {base + 3} (store)"
        )
        files = corpus(12, seed=12)
        drop(inbox, files)
        (inbox / "empty.txt").write_bytes(b"")
        engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
        asyncio.run(
            eventually(
                lambda: asyncio.to_thread(_scalar, engine, "SELECT count(*) FROM ingest_log"),
                lambda n: n == len(files) + 1,
                timeout=120,
            )
        )
        engine.dispose()
        scrapes = {}
        for n, stage in enumerate(STAGES):  # pipeline order: the base port and the next three
            _, _, line = wait_for_health(base + n, lambda status: status == 200, timeout=30)
            assert line == f"{stage}: healthy\n"
            scrapes[stage] = Scrape(base + n)

        # Every series a query of the board selects is on some stage's /metrics, with samples: all but the
        # exception counters, which only an exception creates (their metric is declared all the same).
        families = {m.name.removesuffix("_total"): m for m in (*PIPELINE_METRICS, *FASTSTREAM_METRICS)}
        for series in sorted(_board_series()):
            family = next(f for f in families if series in families[f].series())
            assert any(s.declares(family) for s in scrapes.values()), series
            if "_exceptions_" not in series:
                assert any(s.has_samples(series) for s in scrapes.values()), series

        # The README's commands, as written there but for the ports this test was given.
        said = [
            subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True)
            for command in _readme_metrics_commands(base)
        ]
        assert [done.returncode for done in said] == [0, 0, 0], said
        assert said[0].stdout == "normalize: healthy\n"
        assert said[1].stdout == f"wenming_documents_stored_total {float(len(files))}\n"
        assert said[2].stdout == said[2].stderr == ""  # `wenming check`: silent when healthy
    finally:
        code = up.interrupt()
    assert code == 0, up.output
    assert "Traceback" not in up.output, up.output


def _readme_metrics_commands(base: int) -> list[str]:
    """The shell lines of the README's block about the stages' endpoints, pointed at this test's ports."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```sh\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    (block,) = [b for b in blocks if "/health" in b and "curl" in b]
    wenming = shlex.quote(str(Path(sys.executable).parent / "wenming"))
    commands = []
    for line in block.splitlines():
        for n in range(len(STAGES)):
            line = line.replace(str(9464 + n), str(base + n))
        commands.append(line.replace(".venv/bin/wenming", wenming))
    assert commands and shutil.which("curl"), "the README shows curl"
    return commands
