"""`wenming lag`: print or watch the operator's view."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import redis.asyncio as aioredis

from services.ingest.inbox import is_ignored
from services.lag import StageLag, dead_letter_count, read_lag, render_table, with_trend
from services.supervisor import read_instance
from shared.settings import Settings
from shared.streams import Topology


async def show_lag(settings: Settings, *, data_dir: Path, as_json: bool, watch: bool, interval: float) -> int:
    """Print lag once, or until Ctrl-C with --watch; exit 1 when no Redis can be found."""
    instance = read_instance(data_dir) or {}
    redis_url = settings.redis_url or instance.get("WENMING_REDIS_URL")
    inbox = Path(instance["inbox"]) if "inbox" in instance else settings.inbox
    if not redis_url:
        print("wenming lag: set WENMING_REDIS_URL or run it where `wenming up` runs", file=sys.stderr)
        return 1
    explicit = "stream_prefix" in settings.model_fields_set
    topology = Topology(
        settings.stream_prefix if explicit else instance.get("WENMING_STREAM_PREFIX", settings.stream_prefix)
    )
    client = aioredis.from_url(redis_url)
    previous: list[StageLag] = []
    try:
        while True:
            rows = await read_lag(client, topology, stuck_after_s=settings.reclaim_idle_ms / 1000)
            rows, previous = with_trend(previous, rows), rows
            if as_json:
                print(json.dumps([r.as_json() for r in rows], ensure_ascii=False), flush=True)
            else:
                dead = await dead_letter_count(client, topology)
                if watch:
                    print("\033[2J\033[H", end="")
                print(render_table(rows, dead, inbox_waiting(inbox)), flush=True)
            if not watch:
                return 0
            await asyncio.sleep(interval)
    except KeyboardInterrupt:
        return 0
    except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
        print(f"wenming lag: Redis at {redis_url} does not answer: {exc}", file=sys.stderr)
        return 1
    finally:
        await client.aclose()


def inbox_waiting(inbox: Path) -> int | None:
    """Files in the inbox not yet taken, when the inbox is on this machine."""
    try:
        return sum(1 for p in inbox.iterdir() if not is_ignored(p.name) and not p.is_dir())
    except OSError:
        return None
