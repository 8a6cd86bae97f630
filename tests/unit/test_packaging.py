"""What a fresh install needs: every imported package declared, quick commands free of heavy imports."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
OWN = {"services", "shared", "tests", "benchmarks"}
# Libraries that take a tenth of a second or more to import, or may be broken by a bad install.
HEAVY = ("trafilatura", "docx", "pypdf", "jionlp", "jieba", "opencc", "sqlalchemy", "alembic", "faststream")


def _project_name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imported_top_modules(folder: Path) -> set[str]:
    modules: set[str] = set()
    for path in folder.rglob("*.py"):
        if "data" in path.relative_to(ROOT).parts:  # the reference scorer is kept verbatim
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m not in OWN}


def _undeclared(folders: tuple[str, ...], declared: set[str]) -> dict[str, list[str]]:
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for module in sorted(set().union(*(_imported_top_modules(ROOT / f) for f in folders))):
        names = {_project_name(d) for d in distributions.get(module, [module])}
        if not names & declared:
            missing[module] = sorted(names)
    return missing


def test_every_package_the_code_imports_is_a_declared_dependency() -> None:
    """Old pip ignores some extras of dependencies: what we import must be asked for directly."""
    runtime = {_project_name(r) for r in PYPROJECT["project"]["dependencies"]}
    testing = {_project_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    assert _undeclared(("services", "shared"), runtime) == {}
    assert _undeclared(("tests", "benchmarks"), runtime | testing) == {}


@pytest.mark.parametrize("argv", [["--help"], ["env"], ["lag"], ["check", "normalize"]])
def test_quick_commands_import_no_heavy_library(argv: list[str], tmp_path: Path) -> None:
    """`wenming --help`, `env`, `lag` and `check` start fast and work whatever format library is broken."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "services.operate.cli", *argv],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "import time:" in line}
    assert "Traceback" not in done.stderr
    assert sorted(m for m in imported if m.split(".")[0] in HEAVY) == []
