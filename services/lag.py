"""The operator's view: per stage, how far behind it is, whether it is alive, and what went wrong."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import redis.asyncio as aioredis

from shared.streams import Topology

# Counts server-side: Redis 6.2 has no lag field, and shipping every entry to count it would be slow.
_COUNT_AFTER = "return #redis.call('XRANGE', KEYS[1], ARGV[1], '+')"

Health = Literal["idle", "working", "falling behind", "no consumers", "stuck"]


@dataclass(frozen=True)
class ConsumerInfo:
    name: str
    pending: int
    idle_s: float
    alive: bool = True  # its process still sends heartbeats; Redis lists killed consumers forever


@dataclass(frozen=True)
class StageLag:
    stage: str
    stream: str | None  # None for ingest, which reads the inbox folder
    group: str | None
    length: int
    lag: int
    pending: int
    oldest_pending_age_s: float | None
    oldest_pending_deliveries: int | None
    consumers: list[ConsumerInfo] = field(default_factory=list)
    health: Health = "idle"
    last_error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InboxState:
    waiting: int
    oldest_wait_s: float | None


def judge(
    *, lag: int, pending: int, live_consumers: int, stalled_s: float | None, stuck_after_s: float
) -> Health:
    """One word for a stage. `stalled_s`: how long the oldest waiting work has gone untouched."""
    if not live_consumers:  # nobody reads: a stopped stage, whether or not work waits
        return "no consumers"
    if lag == 0 and pending == 0:
        return "idle"
    if (stalled_s or 0) > stuck_after_s:
        return "stuck"
    return "working"


async def read_heartbeats(client: aioredis.Redis, prefix: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Live replicas by stage and consumer name, with what each last reported."""
    alive: dict[str, dict[str, dict[str, Any]]] = {}
    async for key in client.scan_iter(match=f"{prefix}:heartbeat:*", count=500):
        name = key.decode() if isinstance(key, bytes) else str(key)
        stage, _, consumer = name[len(prefix) + len(":heartbeat:") :].partition(":")
        raw = await client.get(key)
        try:
            alive.setdefault(stage, {})[consumer] = json.loads(raw) if raw else {}
        except ValueError:
            alive.setdefault(stage, {})[consumer] = {}
    return alive


async def read_lag(
    client: aioredis.Redis,
    topology: Topology,
    *,
    stuck_after_s: float = 60.0,
    inbox: InboxState | None = None,
) -> list[StageLag]:
    """Every stage in pipeline order: ingest (when its inbox is known), then each (stream, group)."""
    heartbeats = await read_heartbeats(client, topology.prefix)
    rows = []
    if inbox is not None:
        rows.append(_ingest_row(heartbeats.get("ingest", {}), inbox, stuck_after_s))
    for stream, group in topology.consumer_groups():
        rows.append(await _group_lag(client, stream, group, heartbeats.get(group, {}), stuck_after_s))
    return rows


def _ingest_row(beats: dict[str, dict[str, Any]], inbox: InboxState, stuck_after_s: float) -> StageLag:
    consumers = [ConsumerInfo(name, 0, 0.0) for name in sorted(beats)]
    health = judge(
        lag=inbox.waiting,
        pending=0,
        live_consumers=len(consumers),
        stalled_s=inbox.oldest_wait_s,
        stuck_after_s=stuck_after_s,
    )
    return StageLag(
        "ingest",
        None,
        None,
        inbox.waiting,
        inbox.waiting,
        0,
        inbox.oldest_wait_s,
        None,
        consumers,
        health,
        _last_error(beats),
    )


async def _group_lag(
    client: aioredis.Redis, stream: str, group: str, beats: dict[str, dict[str, Any]], stuck_after_s: float
) -> StageLag:
    length = int(await client.xlen(stream))
    info = next((g for g in await _groups(client, stream) if _text(g["name"]) == group), None)
    if info is None:
        return StageLag(group, stream, group, length, length, 0, None, None, [], "no consumers")
    pending = int(info["pending"])
    lag = info.get("lag")
    if lag is None:  # Redis < 7 has no lag field, and 7 omits it after some trims: count what is left
        lag = await client.eval(_COUNT_AFTER, 1, stream, f"({_text(info['last-delivered-id'])}")
    consumers = [
        ConsumerInfo(name, int(c["pending"]), int(c["idle"]) / 1000, alive=name in beats)
        for c in await client.xinfo_consumers(stream, group)
        for name in [_text(c["name"])]
    ]
    oldest_age = oldest_deliveries = untouched_s = None
    if pending:
        oldest = await client.xpending_range(stream, group, min="-", max="+", count=1)
        if oldest:
            # Shown: age since the entry was added. Judged: time since anyone touched it (a live
            # worker keeps its entries fresh, however long a document takes).
            seconds, micros = await client.time()
            added_ms = int(_text(oldest[0]["message_id"]).split("-")[0])
            oldest_age = max(0.0, (seconds * 1000 + micros // 1000 - added_ms) / 1000)
            oldest_deliveries = int(oldest[0]["times_delivered"])
            untouched_s = int(oldest[0]["time_since_delivered"]) / 1000
    health = judge(
        lag=int(lag),
        pending=pending,
        live_consumers=sum(c.alive for c in consumers),
        stalled_s=untouched_s,
        stuck_after_s=stuck_after_s,
    )
    return StageLag(
        group,
        stream,
        group,
        length,
        int(lag),
        pending,
        oldest_age,
        oldest_deliveries,
        consumers,
        health,
        _last_error(beats),
    )


def _last_error(beats: dict[str, dict[str, Any]]) -> str | None:
    errors = [
        f"{name}: {beat['last_error']}" for name, beat in sorted(beats.items()) if beat.get("last_error")
    ]
    return "; ".join(errors) or None


async def _groups(client: aioredis.Redis, stream: str) -> list[dict[str, Any]]:
    try:
        return list(await client.xinfo_groups(stream))
    except aioredis.ResponseError:  # no such stream yet
        return []


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def with_trend(previous: list[StageLag], current: list[StageLag]) -> list[StageLag]:
    """Between two readings, a working stage whose lag grew is falling behind."""
    before = {(r.stage, r.stream): r.lag for r in previous}
    return [
        replace(r, health="falling behind")
        if r.health == "working" and r.lag > before.get((r.stage, r.stream), r.lag)
        else r
        for r in current
    ]


def render_table(rows: list[StageLag], dead_letters: int) -> str:
    """A screenful for the operator: one line per stage, the errors, then the verdict."""
    header = ("stage", "stream", "length", "lag", "pending", "oldest", "consumers", "health")
    lines = [header]
    for r in rows:
        oldest = "-" if r.oldest_pending_age_s is None else f"{r.oldest_pending_age_s:.0f}s"
        if r.oldest_pending_deliveries and r.oldest_pending_deliveries > 1:
            oldest += f" (tried {r.oldest_pending_deliveries}x)"
        consumers = ", ".join(
            f"{c.name} (idle {c.idle_s:.0f}s)" if c.alive else f"{c.name} (gone)" for c in r.consumers
        )
        stream = r.stream or "inbox folder"
        lines.append(
            (
                r.stage,
                stream,
                str(r.length),
                str(r.lag),
                str(r.pending),
                oldest,
                consumers or "none",
                r.health,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    out.append("")
    out += [f"last error in {r.stage}: {r.last_error}" for r in rows if r.last_error]
    out.append(
        f"pipeline: {overall(rows)}    dead letters so far: {dead_letters}    ({time.strftime('%H:%M:%S')})"
    )
    return "\n".join(out)


# Worst first: the worst health of any stage is the pipeline's.
_VERDICTS: dict[Health, str] = {
    "stuck": "STUCK",
    "no consumers": "STOPPED (a stage has no live consumer)",
    "falling behind": "FALLING BEHIND (lag is growing)",
    "working": "healthy, working",
    "idle": "healthy, idle",
}


def worst(rows: list[StageLag]) -> Health:
    """The pipeline's health word: stuck > no consumers > falling behind > working > idle."""
    return next((health for health in _VERDICTS if any(r.health == health for r in rows)), "idle")


def overall(rows: list[StageLag]) -> str:
    """The pipeline's verdict, in words for the table."""
    return _VERDICTS[worst(rows)]


def is_healthy(rows: list[StageLag]) -> bool:
    return all(r.health in ("idle", "working") for r in rows)


async def dead_letter_count(client: aioredis.Redis, topology: Topology) -> int:
    """Dead letters ever written, on any Redis version (the stream itself is trimmed once stored)."""
    return int(await client.get(topology.dead_letters_added) or 0)
