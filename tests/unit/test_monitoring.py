"""The Grafana board, its provisioning and the Prometheus scrape config, checked offline: the board's
shape, every query parsed and naming only metrics the stages export (shared/metric_names.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shared.metric_names import ALL_METRICS, FASTSTREAM_METRICS, PIPELINE_METRICS, SCRAPE_LABELS, MetricName
from shared.streams import STAGES
from tests.support.compose import load_compose

ROOT = Path(__file__).resolve().parents[2]
BOARD = ROOT / "deploy/grafana/dashboards/wenming-pipeline.json"
PROMETHEUS = ROOT / "deploy/prometheus/prometheus.yml"
PROVISIONING = ROOT / "deploy/grafana/provisioning"
# Grafana's variables, replaced by what Grafana would send, so that the query is plain PromQL.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "3h", "$__interval": "15s", "$stage": ".*"}
SERIES: dict[str, MetricName] = {series: m for m in ALL_METRICS for series in m.series()}

promql = pytest.importorskip("promql_parser")


@pytest.fixture(scope="module")
def board() -> dict[str, Any]:
    return dict(json.loads(BOARD.read_text(encoding="utf-8")))


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in board["panels"] if p["type"] != "row"]


def _queries(board: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for panel in _panels(board):
        for target in panel["targets"]:
            yield panel["title"], target["expr"]


def _plain(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr}"
    return expr


# The subset of Grafana's dashboard JSON model (schemaVersion 39) this board uses; a key Grafana does not
# know at these levels is refused, so a misspelling cannot pass as a silently ignored option.
_DATASOURCE = {
    "type": "object",
    "required": ["type", "uid"],
    "properties": {"type": {"const": "prometheus"}, "uid": {"const": "${datasource}"}},
    "additionalProperties": False,
}
_GRID = {
    "type": "object",
    "required": ["x", "y", "w", "h"],
    "properties": {
        "x": {"type": "integer", "minimum": 0, "maximum": 23},
        "y": {"type": "integer", "minimum": 0},
        "w": {"type": "integer", "minimum": 1, "maximum": 24},
        "h": {"type": "integer", "minimum": 1},
    },
    "additionalProperties": False,
}
_TARGET = {
    "type": "object",
    "required": ["refId", "expr", "datasource"],
    "properties": {
        "refId": {"type": "string", "pattern": "^[A-Z]$"},
        "expr": {"type": "string", "minLength": 1},
        "datasource": _DATASOURCE,
        "legendFormat": {"type": "string"},
        "range": {"type": "boolean"},
        "instant": {"type": "boolean"},
    },
    "additionalProperties": False,
}
_PANEL_KEYS = {
    "id": {"type": "integer"},
    "type": {"enum": ["row", "timeseries", "stat"]},
    "title": {"type": "string", "minLength": 1},
    "description": {"type": "string"},
    "gridPos": _GRID,
    "collapsed": {"type": "boolean"},
    "panels": {"type": "array", "maxItems": 0},
    "datasource": _DATASOURCE,
    "fieldConfig": {"type": "object", "required": ["defaults", "overrides"]},
    "options": {"type": "object"},
    "targets": {"type": "array", "minItems": 1, "items": _TARGET},
}
DASHBOARD_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["uid", "title", "schemaVersion", "panels", "templating", "time", "refresh", "annotations"],
    "properties": {
        "uid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "editable": {"type": "boolean"},
        "graphTooltip": {"enum": [0, 1, 2]},
        "schemaVersion": {"type": "integer", "minimum": 36},
        "version": {"type": "integer"},
        "refresh": {"type": "string", "pattern": "^[0-9]+[smhd]$"},
        "time": {
            "type": "object",
            "required": ["from", "to"],
            "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
            "additionalProperties": False,
        },
        "timezone": {"type": "string"},
        "timepicker": {"type": "object"},
        "fiscalYearStartMonth": {"type": "integer"},
        "liveNow": {"type": "boolean"},
        "links": {"type": "array"},
        "annotations": {"type": "object", "required": ["list"]},
        "templating": {
            "type": "object",
            "required": ["list"],
            "properties": {
                "list": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["type", "name"],
                        "properties": {"type": {"enum": ["datasource", "custom", "query", "interval"]}},
                    },
                }
            },
            "additionalProperties": False,
        },
        "panels": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "type", "title", "gridPos"],
                "properties": _PANEL_KEYS,
                "additionalProperties": False,
                "if": {"properties": {"type": {"const": "row"}}},
                "then": {"required": ["collapsed", "panels"]},
                "else": {"required": ["datasource", "targets", "fieldConfig", "options"]},
            },
        },
    },
    "additionalProperties": False,
}


def test_the_board_has_grafanas_dashboard_shape(board: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(DASHBOARD_SCHEMA).validate(board)
    broken = json.loads(json.dumps(board))
    broken["panels"][1]["gridpos"] = broken["panels"][1].pop("gridPos")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(DASHBOARD_SCHEMA).validate(broken)


def test_panels_have_unique_ids_and_do_not_overlap(board: dict[str, Any]) -> None:
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    taken: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells
        refs = [t["refId"] for t in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), panel["title"]


def test_the_board_picks_its_datasource_and_stages(board: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["stage"]["query"].split(",") == list(STAGES)


def _nodes(expr: Any, inside: tuple[str, ...] = ()) -> Iterator[tuple[Any, tuple[str, ...]]]:
    """Every node of a parsed query with the functions and aggregations around it, outermost first."""
    yield expr, inside
    if isinstance(expr, promql.Call):
        for arg in expr.args:
            yield from _nodes(arg, (*inside, expr.func.name))
    elif isinstance(expr, promql.AggregateExpr):
        yield from _nodes(expr.expr, (*inside, str(expr.op)))
    elif isinstance(expr, promql.BinaryExpr):
        yield from _nodes(expr.lhs, inside)
        yield from _nodes(expr.rhs, inside)
    elif isinstance(expr, promql.ParenExpr | promql.UnaryExpr | promql.SubqueryExpr):
        yield from _nodes(expr.expr, inside)
    elif isinstance(expr, promql.MatrixSelector):
        yield from _nodes(expr.vector_selector, inside)


def _selectors(expr: str) -> list[tuple[Any, tuple[str, ...]]]:
    return [
        (n, inside)
        for n, inside in _nodes(promql.parse(_plain(expr)))
        if isinstance(n, promql.VectorSelector)
    ]


def test_every_query_parses_and_names_only_exported_metrics(board: dict[str, Any]) -> None:
    for title, expr in _queries(board):
        selectors = _selectors(expr)
        assert selectors, f"{title}: {expr} selects nothing"
        known_labels = {"le"} | set(SCRAPE_LABELS)
        for selector, _ in selectors:
            assert selector.name in SERIES, (
                f"{title}: {selector.name} is not exported (shared/metric_names.py)"
            )
            known_labels |= set(SERIES[selector.name].labels)
        used = {m.name for s, _ in selectors for m in s.matchers.matchers}
        for node, _ in _nodes(promql.parse(_plain(expr))):
            if isinstance(node, promql.AggregateExpr) and node.modifier is not None:
                used |= set(node.modifier.labels)
        assert used <= known_labels, f"{title}: no such label {used - known_labels}"


def test_metrics_are_read_as_their_kind(board: dict[str, Any]) -> None:
    for title, expr in _queries(board):
        for selector, inside in _selectors(expr):
            metric = SERIES[selector.name]
            if metric.kind == "counter" or selector.name.endswith("_bucket"):
                assert inside and inside[-1] in ("rate", "increase"), f"{title}: {selector.name} needs rate()"
            if selector.name.endswith("_bucket"):
                assert "histogram_quantile" in inside, title
            # Replicas combine as the metric says: readings of shared state by max, counts by sum.
            aggregations = [op for op in inside if op in ("sum", "max", "min", "avg")]
            assert aggregations and aggregations[-1] == metric.across_replicas, f"{title}: {selector.name}"


def test_the_board_shows_every_pipeline_metric(board: dict[str, Any]) -> None:
    shown = {SERIES[s.name].name for _, expr in _queries(board) for s, _ in _selectors(expr)}
    assert {m.name for m in PIPELINE_METRICS} <= shown
    for concern in (
        "received_messages_total",
        "processed_messages_duration_seconds",
        "processed_messages_total",
    ):
        assert any(concern in name for name in shown), concern


def test_faststream_metrics_are_named_as_its_middleware_names_them() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    from faststream.prometheus.container import MetricsContainer

    registry = prometheus_client.CollectorRegistry()
    # What RedisPrometheusMiddleware registers, under its default prefix and with no custom labels.
    container = MetricsContainer(registry, metrics_prefix="faststream", custom_label_names=())
    exported = {name for name in container.__slots__ if not name.startswith("_")}
    assert {m.name.removeprefix("faststream_") for m in FASTSTREAM_METRICS} == exported
    for metric in FASTSTREAM_METRICS:
        collector = getattr(container, metric.name.removeprefix("faststream_"))
        collector.labels(**dict.fromkeys(metric.labels, "x"))  # refuses labels other than its own
    families = {family.name: family for family in registry.collect()}
    for metric in FASTSTREAM_METRICS:
        family = families[metric.name.removesuffix("_total")]
        assert family.type == metric.kind, metric.name
        assert set(metric.series()) <= {s.name for s in family.samples}, metric.name


@pytest.fixture(scope="module")
def scrape() -> dict[str, Any]:
    return dict(yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8")))


def _compose() -> dict[str, Any]:
    return load_compose()


def test_prometheus_scrapes_every_replica_of_every_stage(scrape: dict[str, Any]) -> None:
    (job,) = scrape["scrape_configs"]
    (discovery,) = job["dns_sd_configs"]
    compose = _compose()["services"]
    assert sorted(discovery["names"]) == sorted(STAGES)
    for stage in STAGES:
        assert int(compose[stage]["environment"]["WENMING_METRICS_PORT"]) == discovery["port"]
    assert discovery["type"] == "A"  # every replica's address, not one of them
    # The board's `stage` is the scraped service unless the metric names its own.
    assert job["honor_labels"] is True
    assert {"source_labels": ["__meta_dns_name"], "target_label": SCRAPE_LABELS[0]} in job["relabel_configs"]


def test_grafana_is_provisioned_from_the_files(scrape: dict[str, Any]) -> None:
    compose = _compose()["services"]
    grafana, prometheus = compose["grafana"], compose["prometheus"]
    (datasource,) = yaml.safe_load((PROVISIONING / "datasources/prometheus.yml").read_text("utf-8"))[
        "datasources"
    ]
    assert datasource["type"] == "prometheus" and datasource["isDefault"] is True
    assert datasource["url"] == "http://prometheus:9090"
    assert any(p.endswith(":9090") for p in prometheus["ports"])
    assert datasource["jsonData"]["timeInterval"] == scrape["global"]["scrape_interval"]
    (provider,) = yaml.safe_load((PROVISIONING / "dashboards/wenming.yml").read_text("utf-8"))["providers"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in grafana["volumes"] if v.startswith("./"))
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{BOARD.name}"
    prometheus_mounts = dict(
        v.rsplit(":", 1)[0].split(":", 1) for v in prometheus["volumes"] if v.startswith("./")
    )
    assert prometheus_mounts["./deploy/prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None and os.environ.get("WENMING_REQUIRE_PROMTOOL"):
        pytest.fail("promtool is required here (CI unpacks Debian's prometheus package) but is not on PATH")
    if not found:
        pytest.skip("promtool not installed (Debian package `prometheus`)")
    return found


def test_promtool_accepts_the_scrape_config_and_the_queries(board: dict[str, Any], tmp_path: Path) -> None:
    promtool = _promtool()
    subprocess.run([promtool, "check", "config", "--syntax-only", str(PROMETHEUS)], check=True)
    rules = {
        "groups": [
            {
                "name": "board",
                "rules": [
                    {"record": f"board:query_{i}", "expr": _plain(expr)}
                    for i, (_, expr) in enumerate(_queries(board))
                ],
            }
        ]
    }
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yml")], check=True)


def test_a_wrong_metric_name_is_caught() -> None:
    with pytest.raises(ValueError):
        promql.parse("sum(rate(wenming_stream_lag[1m])")
    selectors = _selectors('max by (stage) (wenming_stream_lags{stage=~"$stage"})')
    assert selectors[0][0].name not in SERIES


def test_metric_names_are_prometheus_names() -> None:
    names = [m.name for m in ALL_METRICS]
    assert len(names) == len(set(names))
    for metric in ALL_METRICS:
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", metric.name), metric.name
        assert metric.name.endswith("_total") == (metric.kind == "counter"), metric.name
