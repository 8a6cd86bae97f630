"""deploy/k8s checked offline: core kinds against Kubernetes' schemas, KEDA objects against the CRD's,
and what the manifests must promise (names the stages use, hardening, secrets only by reference)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from services.operate.cli import build_parser
from shared.settings import Settings
from shared.streams import STAGE_INPUTS, STAGES, Topology

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
# The oldest Kubernetes still widely run, and the newest the bundled schemas know.
KUBERNETES_VERSIONS = ("1.30", "1.37")
# Secrets the operator creates (README); the manifests only name them.
SECRETS = {"wenming-redis": {"url", "address", "password"}, "wenming-postgres": {"url"}}

kubernetes_validate = pytest.importorskip("kubernetes_validate")


def _kustomization() -> dict[str, Any]:
    return dict(yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for name in _kustomization()["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")) if d]
    return docs


def _one(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in manifests if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}"
    return found[0]


def _workloads(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in manifests if d["kind"] in ("Deployment", "Job")]


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def _config(manifests: list[dict[str, Any]]) -> dict[str, str]:
    return dict(_one(manifests, "ConfigMap", "wenming-config")["data"])


def test_kustomization_lists_every_manifest() -> None:
    listed = set(_kustomization()["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_kinds_follow_the_kubernetes_schema(manifests: list[dict[str, Any]], version: str) -> None:
    core = [d for d in manifests if not d["apiVersion"].startswith("keda.sh/")]
    assert {d["kind"] for d in core} >= {
        "Namespace",
        "ConfigMap",
        "Deployment",
        "Job",
        "PersistentVolumeClaim",
    }
    for doc in core:
        # strict: a field Kubernetes does not know is an error, as `kubectl apply --validate=strict` has it
        kubernetes_validate.validate(doc, version, strict=True)


def test_a_misspelt_core_key_is_caught(manifests: list[dict[str, Any]]) -> None:
    deployment = copy.deepcopy(_one(manifests, "Deployment", "wenming-extract"))
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 60
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def _strict(schema: Any) -> Any:
    """Refuse unknown fields wherever the schema lists the known ones (kubeconform's -strict)."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def _keda_schema(kind: str) -> dict[str, Any]:
    # cloudcoil-models-keda's models are generated from KEDA's CRDs (2.16); their JSON schema is the CRD's
    # OpenAPI schema, camelCase names included.
    keda = pytest.importorskip("cloudcoil.models.keda.v1alpha1")
    model = {"ScaledObject": keda.ScaledObject, "TriggerAuthentication": keda.TriggerAuthentication}[kind]
    return dict(_strict(model.model_json_schema(by_alias=True, mode="validation")))


def _keda_validator(kind: str) -> jsonschema.protocols.Validator:
    schema = _keda_schema(kind)
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return validator_class(schema)


def test_keda_objects_follow_the_crd_schema(manifests: list[dict[str, Any]]) -> None:
    keda = [d for d in manifests if d["apiVersion"].startswith("keda.sh/")]
    assert {d["kind"] for d in keda} == {"ScaledObject", "TriggerAuthentication"}
    for doc in keda:
        assert doc["apiVersion"] == "keda.sh/v1alpha1"
        _keda_validator(doc["kind"]).validate(doc)


def test_a_misspelt_keda_key_is_caught(manifests: list[dict[str, Any]]) -> None:
    scaled = copy.deepcopy(_one(manifests, "ScaledObject", "wenming-extract"))
    scaled["spec"]["maxReplicas"] = scaled["spec"].pop("maxReplicaCount")
    with pytest.raises(jsonschema.ValidationError):
        _keda_validator("ScaledObject").validate(scaled)


def _trigger_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "tests/data/keda/redis-streams-trigger.schema.json").read_text("utf-8"))
    return jsonschema.Draft202012Validator(schema)


def test_redis_streams_triggers_use_the_scalers_parameters(manifests: list[dict[str, Any]]) -> None:
    validator = _trigger_validator()
    for scaled in (d for d in manifests if d["kind"] == "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["type"] == "redis-streams"
            validator.validate(trigger["metadata"])
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"stream": "s", "consumerGroup": "g", "lagcount": "5"})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"stream": "s", "consumerGroup": "g", "lagCount": "5"})  # no activationLagCount


def test_each_consuming_stage_scales_on_its_groups_lag(manifests: list[dict[str, Any]]) -> None:
    topology = Topology(_config(manifests)["WENMING_STREAM_PREFIX"])
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for d in manifests if d["kind"] == "ScaledObject"}
    assert set(scaled) == {f"wenming-{stage}" for stage in STAGE_INPUTS}
    for stage, inputs in STAGE_INPUTS.items():
        spec = scaled[f"wenming-{stage}"]["spec"]
        deployment = _one(manifests, "Deployment", f"wenming-{stage}")
        assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
        assert "replicas" not in deployment["spec"], "KEDA owns the replica count"
        assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
        watched = {(t["metadata"]["stream"], t["metadata"]["consumerGroup"]) for t in spec["triggers"]}
        # The group is the stage's name, on the streams the stage reads (shared/streams.py).
        assert watched == {(topology.stream(name), stage) for name in inputs}
        for trigger in spec["triggers"]:
            assert int(trigger["metadata"]["lagCount"]) > 0  # lag, not pending: Redis 7's XINFO GROUPS
            assert trigger["authenticationRef"]["name"] == "wenming-redis"


def test_keda_reads_redis_address_and_password_from_the_secret(manifests: list[dict[str, Any]]) -> None:
    auth = _one(manifests, "TriggerAuthentication", "wenming-redis")
    refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
    assert refs == {"address": ("wenming-redis", "address"), "password": ("wenming-redis", "password")}


def test_ingest_is_one_replica_with_its_inbox_on_a_claim(manifests: list[dict[str, Any]]) -> None:
    deployment = _one(manifests, "Deployment", "wenming-ingest")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # the old pod lets go of the volume first
    assert not any(
        d["spec"]["scaleTargetRef"]["name"] == "wenming-ingest"
        for d in manifests
        if d["kind"] == "ScaledObject"
    )
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    inbox = _env(container)["WENMING_INBOX"]["value"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    claim = volumes[mounts[inbox]]["persistentVolumeClaim"]["claimName"]
    _one(manifests, "PersistentVolumeClaim", claim)
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]


def test_each_stage_runs_its_own_wenming_command(manifests: list[dict[str, Any]]) -> None:
    parser = build_parser()
    for stage in STAGES:
        (container,) = _one(manifests, "Deployment", f"wenming-{stage}")["spec"]["template"]["spec"][
            "containers"
        ]
        assert "command" not in container, "the image's entrypoint is `wenming`"
        args = parser.parse_args(container["args"])
        assert (args.command, args.stage) == ("serve", stage)


def test_the_migration_job_runs_wenming_migrate(manifests: list[dict[str, Any]]) -> None:
    (container,) = _one(manifests, "Job", "wenming-migrate")["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["migrate"]


def test_wenming_migrate_exists() -> None:
    try:
        build_parser().parse_args(["migrate"])
    except SystemExit:
        pytest.fail("no `wenming migrate` command")


def _quantity(text: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    match = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi)?", str(text))
    assert match, text
    return float(match.group(1)) * units.get(match.group(2) or "", 1)


def test_every_workload_is_hardened_and_bounded(manifests: list[dict[str, Any]]) -> None:
    workloads = _workloads(manifests)
    assert len(workloads) == len(STAGES) + 1
    for workload in workloads:
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] > 0, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        empty_dirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            for resource in ("cpu", "memory"):
                request = _quantity(container["resources"]["requests"][resource])
                limit = _quantity(container["resources"]["limits"][resource])
                assert 0 < request <= limit, (name, resource)
            writable = {m["mountPath"] for m in container["volumeMounts"] if m["name"] in empty_dirs}
            assert "/tmp" in writable, name
            if workload["kind"] == "Deployment":
                # The extractor's cache lives in $XDG_CACHE_HOME/wenming: it must be writable.
                assert _env(container)["XDG_CACHE_HOME"]["value"] in writable, name


def test_the_extractor_cache_follows_xdg_cache_home(
    manifests: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.extract.lexicon import cache_dir

    (container,) = _one(manifests, "Deployment", "wenming-extract")["spec"]["template"]["spec"]["containers"]
    assert _env(container)["XDG_CACHE_HOME"]["value"] == "/cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "read-only-home"))  # never reached
    assert cache_dir() == tmp_path / "cache" / "wenming"


def test_probes_ask_health_on_the_metrics_port(manifests: list[dict[str, Any]]) -> None:
    port = int(_config(manifests)["WENMING_METRICS_PORT"])
    for stage in STAGES:
        template = _one(manifests, "Deployment", f"wenming-{stage}")["spec"]["template"]
        (container,) = template["spec"]["containers"]
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"metrics": port}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": "metrics"}, (stage, probe)
        assert template["metadata"]["annotations"]["prometheus.io/port"] == str(port)
        assert template["metadata"]["labels"]["app.kubernetes.io/component"] == stage


def test_termination_outlasts_the_brokers_graceful_stop(manifests: list[dict[str, Any]]) -> None:
    from shared.streaming.publishing import build_broker

    graceful_s = build_broker(Settings(redis_url="redis://127.0.0.1:1/0")).config.graceful_timeout
    assert graceful_s
    for stage in STAGE_INPUTS:
        pod = _one(manifests, "Deployment", f"wenming-{stage}")["spec"]["template"]["spec"]
        # The batch in hand, then retiring the consumer and closing connections.
        assert pod["terminationGracePeriodSeconds"] >= graceful_s + 15, stage


def test_secrets_are_referenced_never_written(manifests: list[dict[str, Any]]) -> None:
    assert not [d for d in manifests if d["kind"] == "Secret"]
    text = "\n".join(p.read_text(encoding="utf-8") for p in K8S.glob("*.yaml"))
    assert not re.search(r"://[^/\s]*:[^/\s]*@", text), "a URL with a password"
    database_users = set()
    for workload in _workloads(manifests):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in SECRETS[ref["name"]], entry
                elif re.search("URL|PASSWORD|SECRET|TOKEN", entry["name"]):
                    pytest.fail(f"{entry['name']} is given a value, not a Secret")
            env = _env(container)
            if "WENMING_DATABASE_URL" in env:
                database_users.add(workload["metadata"]["name"])
            if workload["kind"] == "Deployment":
                assert env["WENMING_REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == "wenming-redis"
    assert database_users == {"wenming-store", "wenming-migrate"}


def test_the_configmap_holds_settings_only(manifests: list[dict[str, Any]]) -> None:
    known = set(Settings.model_fields)
    for key in _config(manifests):
        assert key.startswith("WENMING_") and key.removeprefix("WENMING_").lower() in known, key
    for key in ("WENMING_REDIS_URL", "WENMING_DATABASE_URL"):
        assert key not in _config(manifests)


def test_the_readme_creates_the_secrets_the_manifests_name() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    created: dict[str, set[str]] = {}
    for command in re.findall(r"create secret generic (\S+)((?:\s+\\?\s*--from-literal=\S+)+)", readme):
        created[command[0]] = set(re.findall(r"--from-literal=([\w-]+)=", command[1]))
    assert created == SECRETS


def test_kustomize_renders_them_into_the_namespace(manifests: list[dict[str, Any]]) -> None:
    """`kubectl kustomize deploy/k8s`, as the README has it: what `kubectl apply -k` would send."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl not installed")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(K8S)], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in docs) == sorted(
        (d["kind"], d["metadata"]["name"]) for d in manifests
    )
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == _kustomization()["namespace"], doc["metadata"]["name"]
        if doc["apiVersion"].startswith("keda.sh/"):
            _keda_validator(doc["kind"]).validate(doc)
        else:
            kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[0], strict=True)
    (image,) = _kustomization()["images"]
    for workload in _workloads(docs):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            assert container["image"] == f"{image['name']}:{image['newTag']}"


def test_the_readme_commands_that_run_here_are_the_tests() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    assert "kubectl kustomize deploy/k8s" in lines  # run by test_kustomize_renders_them_into_the_namespace
    for line in lines:
        if line.startswith(".venv/bin/pytest "):
            for path in line.split()[1:]:
                assert (ROOT / path).is_file(), path
