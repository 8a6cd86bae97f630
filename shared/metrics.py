"""What one stage process counts, in a Prometheus registry of its own.

faststream's Prometheus middleware, added to the stage's broker, counts the batches its subscribers
read and the messages it publishes. The wiring counts beside it what faststream never sees: entries
taken back from other replicas (handled outside any subscriber), each entry acknowledged or left
pending, the dead letters written, and for the store the documents and figures stored. The gauges
read from Redis (lag, pending, live consumers) are added where the process serves /metrics
(services/operate/endpoint.py), since they are the operator's view, not the stage's own counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from faststream.redis.prometheus import RedisPrometheusMiddleware
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector

from shared.contracts import DeadLetter, DocumentExtracted
from shared.metric_names import MetricName, pipeline_metric


class StageMetrics:
    """The counters of one stage process, and the faststream middleware that counts into the same registry."""

    def __init__(self, stage: str, *, inputs: Sequence[str] = ()) -> None:
        self.stage = stage
        self.registry = CollectorRegistry()
        self.middleware = RedisPrometheusMiddleware(registry=self.registry, app_name=f"wenming-{stage}")
        ProcessCollector(registry=self.registry)  # memory and CPU of the process
        self._received = _counter(self.registry, "wenming_entries_received_total")
        self._acknowledged = _counter(self.registry, "wenming_entries_acknowledged_total")
        self._failed = _counter(self.registry, "wenming_entries_failed_total")
        self._dead_letters = _counter(self.registry, "wenming_dead_letters_total")
        # Zero from the start, so that the first increase is seen by rate() and the series exist to scrape.
        self._dead_letters.labels(stage=stage)
        for stream in inputs:
            for source in ("read", "taken_back"):
                self._received.labels(stage=stage, stream=stream, source=source)
            self._acknowledged.labels(stage=stage, stream=stream)
            self._failed.labels(stage=stage, stream=stream)
        self._documents_stored: Counter | None = None
        self._figures_stored: Counter | None = None
        self._drop_to_stored: Histogram | None = None
        if stage == "store":
            self._documents_stored = _counter(self.registry, "wenming_documents_stored_total")
            self._figures_stored = _counter(self.registry, "wenming_figures_stored_total")
            self._drop_to_stored = _histogram(self.registry, "wenming_drop_to_stored_seconds")

    def received(self, stream: str, count: int, *, taken_back: bool) -> None:
        """Entries the stage starts on: read new through its group, or taken back from another replica."""
        source = "taken_back" if taken_back else "read"
        self._received.labels(stage=self.stage, stream=stream, source=source).inc(count)

    def acknowledged(self, stream: str, count: int) -> None:
        self._acknowledged.labels(stage=self.stage, stream=stream).inc(count)

    def failed(self, stream: str) -> None:
        """An entry that failed alone and stays pending."""
        self._failed.labels(stage=self.stage, stream=stream).inc()

    def dead_lettered(self, letters: Iterable[DeadLetter]) -> None:
        """Dead letters now in Redis, counted under the stage that wrote each."""
        for letter in letters:
            self._dead_letters.labels(stage=letter.stage).inc()

    def stored(
        self, document: DocumentExtracted, *, figures: int | None = None, now: datetime | None = None
    ) -> None:
        """A document stored or updated in Postgres: its figures (`figures`, when they were not in the
        message but read from their reference), and how long since its file was dropped."""
        if self._documents_stored is None or self._figures_stored is None or self._drop_to_stored is None:
            raise RuntimeError(f"{self.stage} stores no documents")
        self._documents_stored.inc()
        self._figures_stored.inc(len(document.metrics) if figures is None else figures)
        # Only documents that say when their file arrived: one reprocessed, or published before
        # dropped_at existed, would count its age, not its latency.
        if document.dropped_at is not None:
            elapsed = ((now or datetime.now(UTC)) - document.dropped_at).total_seconds()
            self._drop_to_stored.observe(max(0.0, elapsed))  # clocks of two hosts may disagree a little


def _counter(registry: CollectorRegistry, name: str) -> Counter:
    metric = pipeline_metric(name)
    # prometheus_client adds `_total` itself.
    return Counter(metric.name.removesuffix("_total"), metric.help, metric.labels, registry=registry)


def _histogram(registry: CollectorRegistry, name: str) -> Histogram:
    metric: MetricName = pipeline_metric(name)
    return Histogram(metric.name, metric.help, metric.labels, registry=registry, buckets=metric.buckets)
