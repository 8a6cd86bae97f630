"""The `wenming` command as a user meets it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.cli import main


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
    for field in (
        "file",
        "value",
        "unit_kind",
        "measure_word",
        "qualifier",
        "indicator",
        "subject",
        "city",
        "year",
        "surface",
        "start",
        "end",
        "sentence",
    ):
        assert field in figure
    assert report.read_text(encoding="utf-8")[figure["start"] : figure["end"]] == figure["surface"]

    code, out, _ = _run(capsys, "extract", str(report), "--format", "csv")
    assert out.splitlines()[0].startswith("file,value,unit_kind")
    code, out, _ = _run(capsys, "extract", str(report), "--format", "table")
    assert "438个" in out


def test_env_without_a_running_pipeline_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "env", "--data-dir", str(tmp_path))
    assert code == 1 and out == "" and "wenming up" in err
