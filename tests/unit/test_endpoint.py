"""A stage's /metrics and /health without servers: the gauges from `wenming lag`'s rows, the health verdict
for one replica, the counters a stage keeps, the port rule, and a port already taken said in one line."""

from __future__ import annotations

import importlib
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.normalize.app import create_app as create_normalize
from services.operate.cli import main
from services.operate.endpoint import (
    EndpointError,
    Reading,
    StageEndpoint,
    replica_health,
    serve_endpoint,
    stage_gauges,
    stage_ports,
)
from services.operate.lag import ConsumerInfo, InboxState, StageLag
from services.operate.supervisor import run_pipeline
from shared.contracts import DeadLetter, DocumentExtracted, DocumentMetadata, Metric
from shared.metric_names import PIPELINE_METRICS
from shared.metrics import StageMetrics
from shared.settings import Settings
from shared.streams import STAGES
from tests.support.servers import free_ports

NOW = 1_800_000_000.0


def _row(
    stage: str,
    stream: str,
    *,
    lag: int = 0,
    pending: int = 0,
    age: float | None = None,
    consumers: tuple[ConsumerInfo, ...] = (),
) -> StageLag:
    return StageLag(stage, stream, stage, lag + pending, lag, pending, age, None, list(consumers))


def test_the_gauges_are_lag_rows_per_stage() -> None:
    alive, gone = ConsumerInfo("store-1", 2, 0.5), ConsumerInfo("store-0", 3, 90.0, alive=False)
    rows = [
        StageLag("ingest", None, None, 4, 4, 0, 30.0, None, [ConsumerInfo("ingest-1", 0, None)]),
        _row("normalize", "p:in", lag=7, consumers=(ConsumerInfo("normalize-1", 0, 1.0),)),
        _row("store", "p:extracted", lag=5, pending=5, age=12.5, consumers=(alive, gone)),
        # The same replica reads the dead letters: one live consumer, not two.
        _row("store", "p:dead", lag=1, pending=1, age=3.0, consumers=(ConsumerInfo("store-1", 1, 0.2),)),
    ]
    gauges = stage_gauges(rows)
    assert list(gauges) == ["ingest", "normalize", "store"]
    assert (gauges["ingest"].lag, gauges["ingest"].oldest_pending_age_s) == (4, 30.0)
    assert gauges["normalize"].oldest_pending_age_s == 0.0  # nothing pending: no age, shown as 0
    store = gauges["store"]
    assert (store.lag, store.pending, store.oldest_pending_age_s, store.live_consumers) == (6, 6, 12.5, 1)


def _beat(*, acked_ago: float | None = None, busy_ago: float | None = None, started_ago: float = 600) -> dict:
    return {
        "acked_at": NOW - acked_ago if acked_ago is not None else None,
        "busy_since": NOW - busy_ago if busy_ago is not None else None,
        "started_at": NOW - started_ago,
        "last_error": None,
    }


def _reading(rows: list[StageLag], beat: dict | None, inbox: InboxState | None = None) -> Reading:
    return Reading(rows, inbox, beat, NOW)


def test_a_replica_is_healthy_while_it_progresses_or_nothing_waits() -> None:
    mine = ConsumerInfo("extract-1", 0, 1.0)
    waiting = [_row("extract", "p:normalized", lag=40, consumers=(mine,))]
    assert (
        replica_health("extract", "extract-1", _reading(waiting, _beat(acked_ago=5)), stalled_after_s=120)
        is None
    )
    # Started on a long document a while ago: progress, though nothing is acknowledged yet.
    busy = _beat(acked_ago=900, busy_ago=30)
    assert replica_health("extract", "extract-1", _reading(waiting, busy), stalled_after_s=120) is None
    # Quiet for long, but nothing waits for it.
    idle = [_row("extract", "p:normalized", consumers=(mine,))]
    assert (
        replica_health("extract", "extract-1", _reading(idle, _beat(acked_ago=900)), stalled_after_s=120)
        is None
    )


def test_a_replica_that_makes_no_progress_while_work_waits_is_unhealthy() -> None:
    mine = ConsumerInfo("extract-1", 0, 1.0)
    waiting = [_row("extract", "p:normalized", lag=40, consumers=(mine,))]
    reason = replica_health(
        "extract", "extract-1", _reading(waiting, _beat(acked_ago=300)), stalled_after_s=120
    )
    assert reason == (
        "acknowledged nothing for 300s while 40 waited (entries waiting for it; WENMING_STALLED_AFTER_S=120)"
    )


def test_entries_another_replica_holds_do_not_wait_for_this_one() -> None:
    others = ConsumerInfo("extract-2", 12, 400.0)
    held_elsewhere = [
        _row("extract", "p:normalized", pending=12, consumers=(others, ConsumerInfo("extract-1", 0, 1)))
    ]
    reading = _reading(held_elsewhere, _beat(acked_ago=900))
    assert replica_health("extract", "extract-1", reading, stalled_after_s=120) is None
    # The replica that holds them and does nothing with them is the one to restart.
    assert replica_health("extract", "extract-2", reading, stalled_after_s=120) is not None


def test_a_replica_without_a_heartbeat_is_unhealthy() -> None:
    reason = replica_health("normalize", "normalize-1", _reading([], None), stalled_after_s=120)
    assert reason is not None and "sends no heartbeat" in reason


def test_ingest_is_judged_by_the_files_waiting_in_its_inbox() -> None:
    beat = _beat()
    fresh = _reading([], beat, InboxState(waiting=3, oldest_wait_s=2.0))
    assert replica_health("ingest", "ingest-1", fresh, stalled_after_s=120) is None
    stale = _reading([], beat, InboxState(waiting=3, oldest_wait_s=200.0))
    reason = replica_health("ingest", "ingest-1", stale, stalled_after_s=120)
    assert reason is not None and reason.startswith("acknowledged nothing for 200s while 3 waited (files")


def test_the_stages_take_the_base_port_and_the_next_three_in_pipeline_order() -> None:
    assert stage_ports(9464) == {"ingest": 9464, "normalize": 9465, "extract": 9466, "store": 9467}
    assert list(stage_ports(9464)) == list(STAGES)


def _document(*, dropped_at: datetime | None, figures: int) -> DocumentExtracted:
    metric = Metric(value=1, unit_kind="count", surface="1个", start=0, end=2, sentence="1个")
    return DocumentExtracted(
        doc_id="d" * 64,
        file_name="a.txt",
        original_text="1个",
        text="1个",
        script="simplified",
        encoding="utf-8",
        format="text",
        size_bytes=3,
        metadata=DocumentMetadata(),
        metrics=(metric,) * figures,
        extractor_version="1",
        ingested_at=datetime.now(UTC),
        dropped_at=dropped_at,
    )


def _value(metrics: StageMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    assert value is not None, name
    return value


def test_the_store_counts_documents_figures_and_drop_to_stored_latency() -> None:
    metrics = StageMetrics("store", inputs=["p:extracted", "p:dead"])
    now = datetime(2026, 12, 1, tzinfo=UTC)
    metrics.stored(_document(dropped_at=now - timedelta(seconds=1.2), figures=3), now=now)
    metrics.stored(_document(dropped_at=now - timedelta(seconds=40), figures=2), now=now)
    # A document that does not say when its file came (reprocessed, or from before) has no latency.
    metrics.stored(_document(dropped_at=None, figures=1), now=now)
    assert _value(metrics, "wenming_documents_stored_total") == 3
    assert _value(metrics, "wenming_figures_stored_total") == 6
    assert _value(metrics, "wenming_drop_to_stored_seconds_count") == 2
    assert _value(metrics, "wenming_drop_to_stored_seconds_sum") == pytest.approx(41.2)
    assert _value(metrics, "wenming_drop_to_stored_seconds_bucket", le="1.5") == 1
    assert _value(metrics, "wenming_drop_to_stored_seconds_bucket", le="60.0") == 2


def test_entries_and_dead_letters_are_counted_per_stage_and_stream() -> None:
    metrics = StageMetrics("normalize", inputs=["p:ingested"])
    # Exported at zero from the start, so that the first increase is seen.
    assert _value(metrics, "wenming_dead_letters_total", stage="normalize") == 0
    assert (
        _value(
            metrics,
            "wenming_entries_received_total",
            stage="normalize",
            stream="p:ingested",
            source="taken_back",
        )
        == 0
    )
    metrics.received("p:ingested", 16, taken_back=False)
    metrics.received("p:ingested", 2, taken_back=True)
    metrics.acknowledged("p:ingested", 17)
    metrics.failed("p:ingested")
    letter = DeadLetter(stage="normalize", reason="bad", failed_at=datetime.now(UTC))
    metrics.dead_lettered([letter, letter])
    assert (
        _value(
            metrics, "wenming_entries_received_total", stage="normalize", stream="p:ingested", source="read"
        )
        == 16
    )
    assert _value(metrics, "wenming_entries_acknowledged_total", stage="normalize", stream="p:ingested") == 17
    assert _value(metrics, "wenming_entries_failed_total", stage="normalize", stream="p:ingested") == 1
    assert _value(metrics, "wenming_dead_letters_total", stage="normalize") == 2
    with pytest.raises(RuntimeError):
        metrics.stored(_document(dropped_at=None, figures=1))


def test_every_pipeline_metric_is_exported_by_the_stage_that_has_it() -> None:
    settings = Settings(redis_url="redis://127.0.0.1:1/0", database_url="postgresql://127.0.0.1:1/x")
    exported: dict[str, set[str]] = {}
    for stage in STAGES:
        app = importlib.import_module(f"services.{stage}.app").create_app(settings)
        StageEndpoint(app, settings, stage)  # not served: its registry as a scrape would read it
        # Redis does not answer here: the gauges are declared, without samples.
        exported[stage] = {family.name for family in app.metrics.registry.collect()}
    for metric in PIPELINE_METRICS:
        family = metric.name.removesuffix("_total")  # prometheus_client names a counter's family so
        having = {stage for stage, names in exported.items() if family in names}
        stored = metric.name.startswith(("wenming_documents", "wenming_figures", "wenming_drop"))
        assert having == ({"store"} if stored else set(STAGES)), metric.name


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_port_in_use_is_said_in_one_line(taken_port: int) -> None:
    settings = Settings(redis_url="redis://127.0.0.1:1/0", metrics_host="127.0.0.1", metrics_port=taken_port)
    with pytest.raises(EndpointError) as caught:
        serve_endpoint(create_normalize(settings), settings, "normalize")
    assert str(caught.value) == (
        f"port {taken_port} for /metrics and /health is in use; "
        "set WENMING_METRICS_PORT to a free one (0: none)"
    )
    # 0: no endpoint at all (several replicas on one machine that nobody scrapes).
    none = settings.model_copy(update={"metrics_port": 0})
    assert serve_endpoint(create_normalize(none), none, "normalize") is None


def test_wenming_serve_on_a_port_in_use_exits_with_one_line(
    taken_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WENMING_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("WENMING_METRICS_HOST", "127.0.0.1")
    monkeypatch.setenv("WENMING_METRICS_PORT", str(taken_port))
    with pytest.raises(SystemExit) as exited:
        main(["serve", "normalize"])
    err = capsys.readouterr().err
    assert exited.value.code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"wenming serve normalize: port {taken_port} for /metrics and /health is in use")


def test_wenming_up_on_a_port_in_use_says_so_before_starting_anything(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = free_ports(len(STAGES))
    settings = Settings(metrics_port=base, inbox=tmp_path / "inbox")
    with socket.socket() as normalize_port:  # the second of the four is taken
        normalize_port.bind(("127.0.0.1", base + 1))
        normalize_port.listen()
        with caplog.at_level(logging.ERROR):
            assert run_pipeline(settings, data_dir=tmp_path / ".wenming") == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"port {base + 1} (normalize's /metrics) is in use; set WENMING_METRICS_PORT to a base with four "
        "free ports (0: none)"
    ]
    assert not (tmp_path / ".wenming" / "redis").exists() and not (tmp_path / "inbox").exists()
