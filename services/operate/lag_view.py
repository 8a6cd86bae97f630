"""`wenming lag`: print or watch the operator's view."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import redis.asyncio as aioredis

from services.ingest.file_facts import SIDECAR_SUFFIX
from services.ingest.inbox import is_ignored, is_scanned
from services.operate.instance import read_instance
from services.operate.lag import (
    InboxState,
    StageLag,
    dead_letter_count,
    dead_letters_since_last_check,
    read_lag,
    render_table,
    verdict,
    with_trend,
)
from shared.server_urls import redis_failure, redis_url_problem, server_address
from shared.settings import Settings
from shared.streams import Topology


async def show_lag(settings: Settings, *, data_dir: Path, as_json: bool, watch: bool, interval: float) -> int:
    """Print lag once (exit 0 when healthy, 1 when not), or until Ctrl-C with --watch."""
    instance = read_instance(data_dir) or {}
    redis_url = settings.redis_url or instance.get("WENMING_REDIS_URL")
    if not redis_url:
        print("wenming lag: set WENMING_REDIS_URL or run it where `wenming up` runs", file=sys.stderr)
        return 1
    problem = redis_url_problem(redis_url)
    if problem is not None:
        print(f"wenming lag: WENMING_REDIS_URL: {problem}", file=sys.stderr)
        return 1
    inbox = Path(instance["WENMING_INBOX"]) if "WENMING_INBOX" in instance else settings.inbox
    explicit = "stream_prefix" in settings.model_fields_set
    topology = Topology(
        settings.stream_prefix if explicit else instance.get("WENMING_STREAM_PREFIX", "wenming")
    )
    client = aioredis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    previous: list[StageLag] = []
    try:
        while True:
            rows = await read_lag(
                client, topology, stalled_after_s=settings.stalled_after_s, inbox=inbox_state(inbox)
            )
            rows, previous = with_trend(previous, rows), rows
            dead_letters = await dead_letter_count(client, topology)
            new_dead_letters = await dead_letters_since_last_check(client, topology, dead_letters)
            word = verdict(rows, new_dead_letters)
            if as_json:
                report = {
                    "verdict": word,
                    "dead_letters": dead_letters,
                    "new_dead_letters": new_dead_letters,
                    "stages": [r.as_json() for r in rows],
                }
                print(json.dumps(report, ensure_ascii=False), flush=True)
            else:
                if watch and sys.stdout.isatty():  # redraw in place; to a file, one table after another
                    print("\033[2J\033[H", end="")
                print(render_table(rows, dead_letters, new_dead_letters), flush=True)
            if not watch:
                return 0 if word == "healthy" else 1
            await asyncio.sleep(interval)
    except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
        address = server_address(redis_url, 6379)  # not the URL: it may hold a password
        reason = redis_failure(exc, redis_url=redis_url)
        print(f"wenming lag: cannot read from Redis at {address}: {reason}", file=sys.stderr)
        return 1
    finally:
        await client.aclose()


def inbox_state(inbox: Path) -> InboxState | None:
    """Files in the inbox not yet taken, and how long the oldest has waited; None if not on this machine."""
    try:
        waiting = list(_documents(inbox))
    except OSError:
        return None
    ages = []
    for path in waiting:
        try:
            ages.append(time.time() - path.lstat().st_mtime)
        except OSError:
            continue
    return InboxState(len(waiting), max(ages) if ages else None)


def _documents(inbox: Path) -> Iterator[Path]:
    """What ingest would take, by its rules: the files of the inbox and of its first-level folders.

    Sidecars are not counted: they go with their documents, and one whose document never came waits for
    nothing.
    """
    with os.scandir(inbox) as entries:
        for entry in entries:
            if not is_scanned(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                try:
                    with os.scandir(entry.path) as inner:
                        yield from (
                            Path(file.path)
                            for file in inner
                            if not is_ignored(file.name)
                            and not file.is_dir(follow_symlinks=False)
                            and not file.name.endswith(SIDECAR_SUFFIX)
                        )
                except OSError:  # gone, or swapped for something else, since it was listed
                    continue
            elif not entry.name.endswith(SIDECAR_SUFFIX):
                yield Path(entry.path)
