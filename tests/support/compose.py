"""docker-compose.yml read as Compose would, without Docker: variables interpolated, merge keys resolved."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
# What the README's commands set; the tests read the file as it is run.
TEST_ENV = {
    "REDIS_PASSWORD": "redis-secret",
    "POSTGRES_PASSWORD": "pg-secret",
    "WENMING_WRITER_PASSWORD": "writer-secret",
}
_VARIABLE = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """${VAR}, ${VAR:-default} and ${VAR:?error} as Compose resolves them; a missing required one raises."""

    def value(match: re.Match[str]) -> str:
        name, kind, rest = match.group(1), match.group(2), match.group(3) or ""
        if env.get(name):
            return env[name]
        if kind == "?":
            raise KeyError(f"required variable {name} is missing a value: {rest}")
        return rest if kind == "-" else ""

    return _VARIABLE.sub(value, text)


def load_compose(text: str | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The Compose model, without the `x-` extension keys."""
    text = COMPOSE_FILE.read_text(encoding="utf-8") if text is None else text
    model = yaml.safe_load(interpolate(text, TEST_ENV if env is None else env))
    return {k: v for k, v in model.items() if not k.startswith("x-")}
