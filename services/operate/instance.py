"""Where `wenming up` says what it runs on (`<data dir>/instance.json`), for `wenming env` and `lag`."""

from __future__ import annotations

import json
import os
from pathlib import Path

INSTANCE_FILE = "instance.json"


def read_instance(data_dir: Path) -> dict[str, str] | None:
    """The settings of the pipeline running from `data_dir`, as WENMING_* variables, if it is alive."""
    try:
        instance = json.loads((data_dir / INSTANCE_FILE).read_text(encoding="utf-8"))
        os.kill(int(instance["pid"]), 0)
        return {
            "WENMING_REDIS_URL": instance["redis_url"],
            "WENMING_DATABASE_URL": instance["database_url"],
            "WENMING_STREAM_PREFIX": instance["stream_prefix"],
            "WENMING_INBOX": instance["inbox"],
        }
    except (OSError, ValueError, KeyError):
        return None
