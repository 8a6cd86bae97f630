"""A stage's /metrics and /health, asked over HTTP as Prometheus and an orchestrator ask them."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


def health(port: int) -> tuple[int, str]:
    """The status and the one line of a stage's /health; (0, why) when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)


class Scrape:
    """One scrape of a stage's /metrics, parsed by prometheus_client's own parser."""

    def __init__(self, port: int) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            self.text = response.read().decode()
        self.families = {f.name: f for f in text_string_to_metric_families(self.text)}
        self.samples: list[Sample] = [s for f in self.families.values() for s in f.samples]

    def declares(self, family: str) -> bool:
        """Whether the metric is exported (its HELP and TYPE), with or without samples yet."""
        return family in self.families

    def has_samples(self, name: str) -> bool:
        return any(s.name == name for s in self.samples)

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples named `name` whose labels include `labels`."""
        return sum(
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def by_label(self, name: str, label: str) -> dict[str, float]:
        return {s.labels[label]: s.value for s in self.samples if s.name == name}


def wait_for_health(port: int, accept: Callable[[int], bool], *, timeout: float) -> tuple[float, int, str]:
    """Seconds until /health answered a status `accept` takes, with that status and line."""
    started = time.monotonic()
    while True:
        status, line = health(port)
        if accept(status):
            return time.monotonic() - started, status, line
        if time.monotonic() - started > timeout:
            raise AssertionError(f"/health on {port} still {status} after {timeout:.0f}s: {line}")
        time.sleep(0.5)
