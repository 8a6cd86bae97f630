"""docker-compose.yml checked offline against the Compose specification, plus what it must promise."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from services.operate.cli import build_parser
from services.store.access import WRITER_ROLE
from tests.support.compose import COMPOSE_FILE, TEST_ENV, load_compose
from tests.support.deployment import HEADROOM, PEAK_MIB, stop_bound_s

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("ingest", "normalize", "extract", "store")
MONITORING = ("prometheus", "grafana")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY\b")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def _text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


def test_compose_file_follows_the_specification(compose: dict[str, Any]) -> None:
    compose_spec = pytest.importorskip("compose_spec")
    parsed = compose_spec.PyCompose.from_json(json.dumps(compose))
    parsed.validate()
    assert set(parsed.service_names()) == {"redis", "postgres", "migrate", "operator", *STAGES, *MONITORING}


def test_a_misspelt_key_is_caught() -> None:
    compose_spec = pytest.importorskip("compose_spec")
    text = _text().replace("restart:", "restrat:", 1)
    with pytest.raises(ValueError):
        compose_spec.PyCompose.from_json(json.dumps(load_compose(text)))


def test_servers_persist_and_report_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "--appendonly" in services["redis"]["command"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")  # 7+: KEDA's lagCount reads XINFO GROUPS lag
    for name in ("redis", "postgres", *STAGES, *MONITORING):
        assert services[name]["healthcheck"]["test"], name
    declared = set(compose["volumes"])
    for name in ("redis", "postgres", *MONITORING):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            assert source in declared or (ROOT / source).exists(), (name, volume)


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
        check = parser.parse_args(health[2:])
        assert health[:2] == ["CMD", "wenming"] and check.stage == stage
        # The stage's own /health, on the port it serves it: its progress, not only its servers.
        assert check.endpoint and int(service["environment"]["WENMING_METRICS_PORT"]) == 9464
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert urlsplit(service["environment"]["WENMING_REDIS_URL"]).hostname == "redis"
        assert "profiles" not in service
    assert compose["services"]["ingest"]["environment"]["WENMING_INBOX"] == "/inbox"
    assert any(v.endswith(":/inbox") for v in compose["services"]["ingest"]["volumes"])
    assert compose["services"]["ingest"]["user"] == "1000:1000"  # the inbox owner's, WENMING_UID/GID


def test_servers_answer_on_this_machine_only(compose: dict[str, Any]) -> None:
    published = {name: s["ports"] for name, s in compose["services"].items() if "ports" in s}
    assert set(published) == {"redis", "postgres", *MONITORING}
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_redis_wants_a_password_and_never_evicts(compose: dict[str, Any]) -> None:
    command = compose["services"]["redis"]["command"]
    assert command[command.index("--requirepass") + 1] == TEST_ENV["REDIS_PASSWORD"]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert re.fullmatch(r"\d+[kmg]b", command[command.index("--maxmemory") + 1])
    # The health check authenticates through the environment, not a password on its command line.
    assert compose["services"]["redis"]["environment"]["REDISCLI_AUTH"] == TEST_ENV["REDIS_PASSWORD"]
    assert "-a" not in " ".join(compose["services"]["redis"]["healthcheck"]["test"]).split()
    for stage in STAGES:
        url = urlsplit(compose["services"][stage]["environment"]["WENMING_REDIS_URL"])
        assert url.password == TEST_ENV["REDIS_PASSWORD"], stage


def test_every_stage_runs_as_a_user_other_than_root(compose: dict[str, Any]) -> None:
    for stage in STAGES:
        uid, _, gid = compose["services"][stage]["user"].partition(":")
        assert int(uid) > 0 and int(gid) > 0, stage
    dockerfile = (ROOT / "deploy/Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^USER (?!root\b|0\b)\S+", dockerfile, re.M)


def test_only_migrate_is_the_owner_and_the_store_is_the_writer(compose: dict[str, Any]) -> None:
    services = compose["services"]
    holders = {n for n, s in services.items() if "WENMING_DATABASE_URL" in s.get("environment", {})}
    assert holders == {"migrate", "store", "operator"}
    # The operator's commands hold the owner's URL too, but only when run by hand: `up` never starts them.
    assert services["operator"]["profiles"] == ["tools"] and services["operator"]["restart"] == "no"
    assert (
        services["operator"]["environment"]["WENMING_DATABASE_URL"]
        == services["migrate"]["environment"]["WENMING_DATABASE_URL"]
    )
    owner = urlsplit(services["migrate"]["environment"]["WENMING_DATABASE_URL"])
    writer = urlsplit(services["store"]["environment"]["WENMING_DATABASE_URL"])
    postgres = services["postgres"]["environment"]
    assert (owner.hostname, owner.username, owner.password) == (
        "postgres",
        postgres["POSTGRES_USER"],
        TEST_ENV["POSTGRES_PASSWORD"],
    )
    assert (writer.hostname, writer.username, writer.password) == (
        "postgres",
        WRITER_ROLE,
        TEST_ENV["WENMING_WRITER_PASSWORD"],
    )
    assert owner.path == writer.path == "/" + postgres["POSTGRES_DB"]
    # The owner's password goes nowhere else; migrate sets the password the store logs in with.
    for name, service in services.items():
        if name not in ("postgres", "migrate", "operator"):
            assert TEST_ENV["POSTGRES_PASSWORD"] not in yaml.safe_dump(service), name
    assert services["migrate"]["environment"]["WENMING_WRITER_PASSWORD"] == writer.password
    assert "WENMING_REDIS_URL" not in services["migrate"]["environment"]


def test_migrate_runs_once_before_the_store(compose: dict[str, Any]) -> None:
    services = compose["services"]
    migrate = services["migrate"]
    assert build_parser().parse_args(migrate["command"]).command == "migrate"
    assert migrate["restart"] == "no" and migrate["build"]["dockerfile"] == "deploy/Dockerfile"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["store"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert {n for n in STAGES if "migrate" in services[n]["depends_on"]} == {"store"}
    assert not {n for n in STAGES if "postgres" in services[n]["depends_on"]}


def _bytes(quantity: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg])b?", str(quantity).lower())
    assert match, quantity
    return float(match.group(1)) * 1024 ** " kmg".index(match.group(2))


def _memory_limit(service: dict[str, Any]) -> float:
    return _bytes(service["deploy"]["resources"]["limits"]["memory"])


def test_every_service_has_a_memory_limit_over_its_measured_peak(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert _memory_limit(service) > 0, name
    for name, peak_mib in PEAK_MIB.items():
        assert _memory_limit(compose["services"][name]) >= peak_mib * HEADROOM * 2**20, name
    # Redis holds up to maxmemory, and a rewrite of its append-only file forks and copies changed pages.
    command = compose["services"]["redis"]["command"]
    maxmemory = _bytes(command[command.index("--maxmemory") + 1])
    assert _memory_limit(compose["services"]["redis"]) >= 1.5 * maxmemory


def test_stage_memory_limits_are_those_of_kubernetes(compose: dict[str, Any]) -> None:
    manifests = {name: f"{name}.yaml" for name in STAGES} | {"migrate": "migrate-job.yaml"}
    for name, manifest in manifests.items():
        workload = next(
            d
            for d in yaml.safe_load_all((ROOT / "deploy/k8s" / manifest).read_text(encoding="utf-8"))
            if d["kind"] in ("Deployment", "Job")
        )
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        in_kubernetes = _bytes(container["resources"]["limits"]["memory"].replace("i", ""))
        assert _memory_limit(compose["services"][name]) == in_kubernetes, name


def test_stop_grace_covers_the_stages_own_stop(compose: dict[str, Any]) -> None:
    for name in STAGES:
        grace = re.fullmatch(r"(\d+)s", compose["services"][name]["stop_grace_period"])
        assert grace and int(grace.group(1)) >= stop_bound_s(), name


def test_no_secret_has_a_default() -> None:
    files = [COMPOSE_FILE, *(p for p in (ROOT / "deploy").rglob("*") if p.is_file())]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for name, kind, default in re.findall(r"\$\{(\w+)(?::?([-?])([^}]*))?\}", text):
            if SECRET_NAME.search(name):
                assert kind == "?" or default == "", f"{path.name}: ${{{name}}} has a default"
    for name in ("REDIS_PASSWORD", "POSTGRES_PASSWORD", "WENMING_WRITER_PASSWORD"):
        assert f"${{{name}:?" in _text() and f"${{{name}:-" not in _text()
        with pytest.raises(KeyError, match=name):
            load_compose(env={k: v for k, v in TEST_ENV.items() if k != name})


def test_grafana_refuses_to_start_without_its_password(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    # Left empty here so a plain `docker compose up` is not stopped by a service it does not start.
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == ""
    guard = " ".join(grafana["entrypoint"])
    assert 'test -n "$$GF_SECURITY_ADMIN_PASSWORD"' in guard and "exit 1" in guard
    assert guard.rstrip().endswith("exec /run.sh")
    with_password = load_compose(env={**TEST_ENV, "GRAFANA_ADMIN_PASSWORD": "g"})
    assert with_password["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "g"


def test_monitoring_runs_only_when_asked(compose: dict[str, Any]) -> None:
    for name in MONITORING:
        assert compose["services"][name]["profiles"] == ["monitoring"]
    for name in ("redis", "postgres", *STAGES):
        assert "profiles" not in compose["services"][name]


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    return [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]


def test_the_readme_sets_every_required_variable() -> None:
    required = set(re.findall(r"\$\{(\w+):\?", _text()))
    runs = [line for line in _readme_commands() if re.search(r"docker compose .*\bup\b", line)]
    assert runs
    exported: set[str] = set()
    for line in _readme_commands():
        if line.startswith("export "):
            exported |= set(re.findall(r"\b([A-Z_]+)=", line))
        if line in runs:
            assigned = exported | set(re.findall(r"\b([A-Z_]+)=", line))
            assert required <= assigned, f"{line}: set {required - assigned}"
            if "--profile monitoring" in line:
                assert "GRAFANA_ADMIN_PASSWORD" in assigned


def test_the_operators_commands_run_on_demand_with_what_they_need(compose: dict[str, Any]) -> None:
    operator = compose["services"]["operator"]
    assert build_parser().parse_args(operator["command"]).command == "lag"
    assert operator["environment"]["WENMING_INBOX"] == "/inbox"
    assert "./inbox:/inbox" in operator["volumes"]  # a replayed file goes back into the inbox
    assert operator["user"] == compose["services"]["ingest"]["user"]  # as the inbox's owner, like ingest
    assert operator["environment"]["WENMING_REDIS_URL"] == compose["services"]["ingest"]["environment"][
        "WENMING_REDIS_URL"
    ]
