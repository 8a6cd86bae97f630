"""The Prometheus metrics the stages export, named once: the stages register them, the Grafana board and
its tests query them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class MetricName:
    """One exported metric, as it appears on /metrics (a counter's name ends in `_total`)."""

    name: str
    kind: MetricKind
    labels: tuple[str, ...]
    help: str
    # How replicas combine: "max" for a reading of shared state (Redis, the inbox), which every replica
    # reports alike; "sum" for what each process counts itself.
    across_replicas: Literal["max", "sum"]
    # A histogram's upper bounds (seconds); prometheus_client adds +Inf.
    buckets: tuple[float, ...] = ()

    def series(self) -> tuple[str, ...]:
        """The sample names a query can select."""
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


# The pipeline's own, from the code `wenming lag` uses. `stage` is the stage the value describes, which
# is not always the process that exports it.
PIPELINE_METRICS: tuple[MetricName, ...] = (
    MetricName(
        "wenming_stream_lag",
        "gauge",
        ("stage",),
        "entries not yet delivered to the stage's consumer group, over its input streams",
        "max",
    ),
    MetricName(
        "wenming_stream_pending",
        "gauge",
        ("stage",),
        "entries delivered to the stage's consumer group and not yet acknowledged",
        "max",
    ),
    MetricName(
        "wenming_oldest_pending_age_seconds",
        "gauge",
        ("stage",),
        "age of the stage's oldest pending entry, since it was added to its stream",
        "max",
    ),
    MetricName(
        "wenming_live_consumers", "gauge", ("stage",), "replicas of the stage sending heartbeats", "max"
    ),
    MetricName(
        "wenming_dead_letters_total", "counter", ("stage",), "dead letters written by the stage", "sum"
    ),
    # Counted by the stage's own wiring, entries taken back from other replicas included (faststream's
    # middleware sees only what its subscribers read). `source`: read (new) or taken_back.
    MetricName(
        "wenming_entries_received_total",
        "counter",
        ("stage", "stream", "source"),
        "stream entries the stage started on, read new or taken back from another replica",
        "sum",
    ),
    MetricName(
        "wenming_entries_acknowledged_total",
        "counter",
        ("stage", "stream"),
        "stream entries the stage acknowledged: handed on, stored or dead-lettered",
        "sum",
    ),
    MetricName(
        "wenming_entries_failed_total",
        "counter",
        ("stage", "stream"),
        "stream entries whose handling failed alone and were left pending, to be tried again",
        "sum",
    ),
    MetricName(
        "wenming_documents_stored_total", "counter", (), "documents stored or updated in Postgres", "sum"
    ),
    MetricName("wenming_figures_stored_total", "counter", (), "figures stored with those documents", "sum"),
    MetricName("wenming_inbox_backlog", "gauge", (), "files waiting in the inbox", "max"),
    MetricName(
        "wenming_drop_to_stored_seconds",
        "histogram",
        (),
        "time from a file's arrival in the inbox to its document being stored",
        "sum",
        buckets=(0.5, 1, 1.5, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
    ),
)

# faststream's RedisPrometheusMiddleware (faststream/prometheus/container.py), under its default prefix.
# `handler` is the stream consumed, `destination` the stream published to.
_RECEIVED = ("app_name", "broker", "handler")
_PUBLISHED = ("app_name", "broker", "destination")
FASTSTREAM_METRICS: tuple[MetricName, ...] = (
    MetricName("faststream_received_messages_total", "counter", _RECEIVED, "messages received", "sum"),
    MetricName(
        "faststream_received_messages_size_bytes", "histogram", _RECEIVED, "size of received messages", "sum"
    ),
    MetricName(
        "faststream_received_messages_in_process", "gauge", _RECEIVED, "messages being handled", "sum"
    ),
    MetricName(
        "faststream_received_processed_messages_total",
        "counter",
        (*_RECEIVED, "status"),
        "messages handled, by outcome (acked, nacked, rejected, skipped, error)",
        "sum",
    ),
    MetricName(
        "faststream_received_processed_messages_duration_seconds",
        "histogram",
        _RECEIVED,
        "time to handle a message (a whole batch, for batch subscribers)",
        "sum",
    ),
    MetricName(
        "faststream_received_processed_messages_exceptions_total",
        "counter",
        (*_RECEIVED, "exception_type"),
        "exceptions raised by handlers",
        "sum",
    ),
    MetricName(
        "faststream_published_messages_total",
        "counter",
        (*_PUBLISHED, "status"),
        "messages published, by outcome (success, error)",
        "sum",
    ),
    MetricName(
        "faststream_published_messages_duration_seconds", "histogram", _PUBLISHED, "time to publish", "sum"
    ),
    MetricName(
        "faststream_published_messages_exceptions_total",
        "counter",
        (*_PUBLISHED, "exception_type"),
        "exceptions raised while publishing",
        "sum",
    ),
)

# Added by Prometheus to every sample it scrapes (deploy/prometheus/prometheus.yml): `stage` is the
# scraped stage, kept only where a metric carries no `stage` of its own.
SCRAPE_LABELS = ("stage", "instance", "job")

ALL_METRICS: tuple[MetricName, ...] = PIPELINE_METRICS + FASTSTREAM_METRICS


def pipeline_metric(name: str) -> MetricName:
    """One of the pipeline's own metrics, by its name on /metrics."""
    return next(m for m in PIPELINE_METRICS if m.name == name)
