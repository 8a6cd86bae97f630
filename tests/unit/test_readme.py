"""The README stays true: CI runs its marked blocks verbatim, and the commands it shows parse."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from types import ModuleType

import pytest

from services.operate.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
SHELL_BLOCKS = re.findall(r"^```sh\n(.*?)^```", README, re.MULTILINE | re.DOTALL)


def _readme_block_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_block", ROOT / ".ci" / "readme_block.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ci_runs_the_quick_start_and_the_test_command_as_written() -> None:
    blocks = _readme_block_script().marked_blocks(README)
    assert set(blocks) == {"install", "try", "test"}
    assert all(re.search(rf"^readme {name}$", CI, re.MULTILINE) for name in blocks)
    assert "pip install" in blocks["install"] and "--upgrade" not in CI
    assert blocks["test"].rstrip().endswith(".venv/bin/pytest")


def test_the_files_the_readme_tries_exist() -> None:
    block = _readme_block_script().marked_blocks(README)["try"]
    files = [word for word in shlex.split(block) if "/" in word and not word.startswith(".venv/")]
    assert files and all((ROOT / name).is_file() for name in files)


@pytest.mark.parametrize(
    "command",
    [line for block in SHELL_BLOCKS for line in block.splitlines() if line.startswith(".venv/bin/wenming ")],
)
def test_every_wenming_command_the_readme_shows_parses(command: str) -> None:
    build_parser().parse_args(shlex.split(command, comments=True)[1:])
