"""docker-compose.yml checked offline against the Compose specification, plus what it must promise."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("ingest", "normalize", "extract", "store")


def _load(text: str, env: dict[str, str]) -> dict[str, Any]:
    # Interpolate ${VAR}, ${VAR:-default} and ${VAR:?error} as Compose does, and resolve YAML merge keys.
    text = re.sub(r"\$\{(\w+)(?::?[-?]([^}]*))?\}", lambda m: env.get(m.group(1), m.group(2) or ""), text)
    return {k: v for k, v in yaml.safe_load(text).items() if not k.startswith("x-")}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"), {"POSTGRES_PASSWORD": "secret"})


def test_compose_file_follows_the_specification(compose: dict[str, Any]) -> None:
    compose_spec = pytest.importorskip("compose_spec")
    parsed = compose_spec.PyCompose.from_json(json.dumps(compose))
    parsed.validate()
    assert set(parsed.service_names()) == {"redis", "postgres", *STAGES}


def test_a_misspelt_key_is_caught() -> None:
    compose_spec = pytest.importorskip("compose_spec")
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8").replace("restart:", "restrat:", 1)
    with pytest.raises(ValueError):
        compose_spec.PyCompose.from_json(json.dumps(_load(text, {"POSTGRES_PASSWORD": "x"})))


def test_servers_persist_and_report_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "--appendonly" in services["redis"]["command"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("redis", "postgres", *STAGES):
        assert services[name]["healthcheck"]["test"], name
    declared = set(compose["volumes"])
    for name in ("redis", "postgres"):
        for volume in services[name]["volumes"]:
            assert volume.split(":")[0] in declared


def test_every_stage_is_its_own_scalable_container(compose: dict[str, Any]) -> None:
    parser = build_parser()
    for stage in STAGES:
        service = compose["services"][stage]
        assert "container_name" not in service and "ports" not in service, (
            "fixed names and ports block --scale"
        )
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (ROOT / service["build"]["dockerfile"]).is_file()
        args = parser.parse_args(service["command"])
        assert (args.command, args.stage) == ("serve", stage)
        health = service["healthcheck"]["test"]
        assert health[:2] == ["CMD", "wenming"] and parser.parse_args(health[2:]).stage == stage
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["environment"]["WENMING_REDIS_URL"].startswith("redis://redis:")
    assert compose["services"]["ingest"]["environment"]["WENMING_INBOX"] == "/inbox"
    assert any(v.endswith(":/inbox") for v in compose["services"]["ingest"]["volumes"])
    assert compose["services"]["ingest"]["user"] == "1000:1000"  # the inbox owner's, WENMING_UID/GID


def test_postgres_password_has_no_default() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "${POSTGRES_PASSWORD:?" in text and "${POSTGRES_PASSWORD:-" not in text
