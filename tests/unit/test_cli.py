"""The `wenming` command as a user meets it."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.operate.cli import build_parser, main
from services.operate.extract_command import METRIC_COLUMNS
from services.operate.instance import INSTANCE_FILE
from services.operate.supervisor import without_password


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_extract_reports_a_bad_file_and_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.txt"
    good.write_text("2023年，全市注册志愿者42万名，建成新时代文明实践站438个。", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.txt"

    code, out, err = _run(capsys, "extract", str(empty), str(good), str(missing), "--format", "jsonl")

    figures = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert {f["value"] for f in figures} >= {420000, 438}
    assert all(f["file"] == "good.txt" for f in figures)
    errors = err.strip().splitlines()
    assert len(errors) == 2
    assert "empty.txt" in errors[0] and "empty" in errors[0].split("empty.txt", 1)[1]
    assert "missing.txt" in errors[1]


def test_extract_fields_and_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.txt"
    report.write_text("全市建成新时代文明实践站438个。", encoding="utf-8")

    code, out, _ = _run(capsys, "extract", str(report), "--format", "jsonl")
    figure = json.loads(out.splitlines()[0])
    assert code == 0
    for field in METRIC_COLUMNS:
        assert field in figure
    assert report.read_text(encoding="utf-8")[figure["start"] : figure["end"]] == figure["surface"]

    code, out, _ = _run(capsys, "extract", str(report), "--format", "csv")
    assert out.splitlines()[0] == ",".join(METRIC_COLUMNS)
    code, out, _ = _run(capsys, "extract", str(report), "--format", "table")
    assert "438个" in out
    for column in ("change", "value_max", "place_level", "place_basis"):
        assert column in out.splitlines()[0]


def test_extract_prints_the_meaning_and_the_place_basis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "老河口市"
    folder.mkdir()
    report = folder / "report.txt"
    report.write_text("工作简报\n今年满意率同比提高1.5个百分点，每户补贴3万—5万元。", encoding="utf-8")

    code, out, _ = _run(capsys, "extract", str(report), "--format", "jsonl")
    points, subsidy = (json.loads(line) for line in out.splitlines())
    assert code == 0
    assert (points["unit_kind"], points["change"]) == ("percentage_point", "increase")
    assert (subsidy["value"], subsidy["value_max"]) == (30000, 50000)
    # The text names no place: the folder it was dropped in does.
    assert (points["city"], points["place_code"], points["place_basis"]) == ("老河口市", "420682", "file")


def test_extract_uses_the_files_sidecar_or_folder_when_the_text_names_no_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "今年以来，全市建成新时代文明实践站38个。"
    in_folder = tmp_path / "老河口市" / "a.txt"
    in_folder.parent.mkdir()
    in_folder.write_text(text, encoding="utf-8")
    with_sidecar = tmp_path / "b.txt"
    with_sidecar.write_text(text, encoding="utf-8")
    (tmp_path / "b.txt.meta.json").write_text('{"place": "襄阳市"}', encoding="utf-8")

    code, out, _ = _run(capsys, "extract", str(in_folder), str(with_sidecar), "--format", "jsonl")
    figures = {f["file"]: f for f in map(json.loads, out.splitlines())}
    assert code == 0
    assert (figures["a.txt"]["city"], figures["a.txt"]["place_basis"]) == ("老河口市", "file")
    assert (figures["b.txt"]["city"], figures["b.txt"]["place_basis"]) == ("襄阳市", "file")


def test_env_without_a_running_pipeline_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "env", "--data-dir", str(tmp_path))
    assert code == 1 and out == "" and "wenming up" in err


def test_extract_on_a_missing_file_or_a_folder_says_so_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "extract", str(tmp_path / "missing.txt"), str(tmp_path))

    assert code == 1
    assert out == ""  # no table header after errors
    missing, folder = err.strip().splitlines()
    assert missing.endswith("missing.txt: no such file")
    assert "is a folder" in folder and "Errno" not in err


def test_extract_shows_progress_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    report = tmp_path / "report.txt"
    report.write_text("全市建成新时代文明实践站438个。", encoding="utf-8")

    code, out, _ = _run(capsys, "extract", str(report), str(tmp_path / "missing.txt"))

    assert code == 1 and "438个" in out
    shown = terminal.getvalue()
    assert "] 2/2 missing.txt" in shown and "missing.txt: no such file\n" in shown
    assert shown.endswith("\r\033[K")  # the bar is gone at the end


def test_serve_without_settings_names_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("WENMING_REDIS_URL", "WENMING_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = _run(capsys, "serve", "store")
    assert code == 2 and err.count("\n") == 1 and "WENMING_REDIS_URL is not set" in err

    monkeypatch.setenv("WENMING_REDIS_URL", "redis://127.0.0.1:6379/0")
    code, _, err = _run(capsys, "serve", "store")
    assert code == 2 and err.count("\n") == 1 and "WENMING_DATABASE_URL is not set" in err

    monkeypatch.setenv("WENMING_BATCH_SIZE", "many")
    code, _, err = _run(capsys, "serve", "normalize")
    assert code == 2 and err.startswith("wenming serve: WENMING_BATCH_SIZE: ") and err.count("\n") == 1


def test_env_prints_exports_for_eval_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = {
        "WENMING_REDIS_URL": "redis://127.0.0.1:6380/0",
        "WENMING_DATABASE_URL": "postgresql://postgres@127.0.0.1:5433/wenming",
        "WENMING_STREAM_PREFIX": "wenming",
        "WENMING_INBOX": str(tmp_path / "my inbox"),
    }
    instance = {
        "pid": os.getpid(),
        "redis_url": settings["WENMING_REDIS_URL"],
        "database_url": settings["WENMING_DATABASE_URL"],
        "stream_prefix": settings["WENMING_STREAM_PREFIX"],
        "inbox": settings["WENMING_INBOX"],
    }
    (tmp_path / INSTANCE_FILE).write_text(json.dumps(instance), encoding="utf-8")

    code, out, _ = _run(capsys, "env", "--data-dir", str(tmp_path))
    assert code == 0 and all(line.startswith("export WENMING_") for line in out.splitlines())
    script = out + "".join(f'printf "%s\\n" "${name}"\n' for name in settings)
    evaluated = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    assert evaluated.splitlines() == list(settings.values())

    code, out, _ = _run(capsys, "env", "--json", "--data-dir", str(tmp_path))
    assert code == 0 and json.loads(out) == settings


def test_every_command_and_option_is_explained_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        for action in command._actions:
            assert action.help, f"wenming {name} {action.dest} has no help text"
        code, out, _ = _run(capsys, name, "--help")
        assert code == 0
        for action in command._actions:
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
                assert f"(default: {action.default})" in " ".join(out.split()), (name, action.dest)


def test_wenming_up_shows_configured_servers_without_their_password() -> None:
    assert (
        without_password("postgresql://wenming:secret@db:5432/wenming")
        == "postgresql://wenming:***@db:5432/wenming"
    )
    assert without_password("redis://:secret@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert without_password("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
