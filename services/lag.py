"""The operator's view: per stage, how far behind its consumer group is and whether it moves."""

from __future__ import annotations

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


@dataclass(frozen=True)
class StageLag:
    stage: str
    stream: str
    group: str
    length: int
    lag: int
    pending: int
    oldest_pending_age_s: float | None
    oldest_pending_deliveries: int | None
    consumers: list[ConsumerInfo] = field(default_factory=list)
    health: Health = "idle"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def judge(
    *,
    lag: int,
    pending: int,
    consumers: list[ConsumerInfo],
    oldest_pending_age_s: float | None,
    stuck_after_s: float,
) -> Health:
    """One word for the stage: idle, working, no consumers, or stuck."""
    if not consumers:  # nothing reads this stream: a stopped stage, whether or not work waits
        return "no consumers"
    if lag == 0 and pending == 0:
        return "idle"
    most_recent_activity = min(c.idle_s for c in consumers)
    if (oldest_pending_age_s or 0) > stuck_after_s or most_recent_activity > stuck_after_s:
        return "stuck"
    return "working"


async def read_lag(
    client: aioredis.Redis, topology: Topology, *, stuck_after_s: float = 60.0
) -> list[StageLag]:
    """Lag of every (stream, group) pair of the pipeline, in pipeline order."""
    rows = []
    for stream, group in topology.consumer_groups():
        rows.append(await _group_lag(client, stream, group, stuck_after_s))
    return rows


async def _group_lag(client: aioredis.Redis, stream: str, group: str, stuck_after_s: float) -> StageLag:
    length = int(await client.xlen(stream))
    info = next((g for g in await _groups(client, stream) if _text(g["name"]) == group), None)
    if info is None:
        return StageLag(group, stream, group, length, length, 0, None, None, [], "no consumers")
    pending = int(info["pending"])
    lag = info.get("lag")
    if lag is None:  # Redis < 7 has no lag field, and 7 omits it after some trims: count what is left
        last = _text(info["last-delivered-id"])
        lag = await client.eval(_COUNT_AFTER, 1, stream, f"({last}")
    consumers = [
        ConsumerInfo(_text(c["name"]), int(c["pending"]), int(c["idle"]) / 1000)
        for c in await client.xinfo_consumers(stream, group)
    ]
    oldest_age = oldest_deliveries = None
    if pending:
        oldest = await client.xpending_range(stream, group, min="-", max="+", count=1)
        if oldest:
            # Age since the entry was added (its id), not since its last delivery, which each retry resets.
            seconds, micros = await client.time()
            entry_id = oldest[0]["message_id"]
            added_ms = int(
                (entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)).split("-")[0]
            )
            oldest_age = max(0.0, (seconds * 1000 + micros // 1000 - added_ms) / 1000)
            oldest_deliveries = int(oldest[0]["times_delivered"])
    health = judge(
        lag=int(lag),
        pending=pending,
        consumers=consumers,
        oldest_pending_age_s=oldest_age,
        stuck_after_s=stuck_after_s,
    )
    return StageLag(
        group, stream, group, length, int(lag), pending, oldest_age, oldest_deliveries, consumers, health
    )


async def _groups(client: aioredis.Redis, stream: str) -> list[dict[str, Any]]:
    try:
        return list(await client.xinfo_groups(stream))
    except aioredis.ResponseError:  # no such stream yet
        return []


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def with_trend(previous: list[StageLag], current: list[StageLag]) -> list[StageLag]:
    """Between two readings, a working stage whose lag grew is falling behind."""
    before = {(r.stream, r.group): r.lag for r in previous}
    return [
        replace(r, health="falling behind")
        if r.health == "working" and r.lag > before.get((r.stream, r.group), r.lag)
        else r
        for r in current
    ]


def render_table(rows: list[StageLag], dead_letters: int, inbox_waiting: int | None = None) -> str:
    """A screenful for the operator: one line per stage, then the verdict."""
    header = ("stage", "stream", "length", "lag", "pending", "oldest", "consumers", "health")
    lines = [header]
    for r in rows:
        oldest = "-" if r.oldest_pending_age_s is None else f"{r.oldest_pending_age_s:.0f}s"
        if r.oldest_pending_deliveries and r.oldest_pending_deliveries > 1:
            oldest += f" (tried {r.oldest_pending_deliveries}x)"
        consumers = ", ".join(f"{c.name} (idle {c.idle_s:.0f}s)" for c in r.consumers) or "none"
        lines.append(
            (r.stage, r.stream, str(r.length), str(r.lag), str(r.pending), oldest, consumers, r.health)
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    verdict = overall(rows)
    out.append("")
    inbox = "" if inbox_waiting is None else f"    inbox: {inbox_waiting} waiting"
    out.append(
        f"pipeline: {verdict}{inbox}    dead letters so far: {dead_letters}    ({time.strftime('%H:%M:%S')})"
    )
    return "\n".join(out)


def overall(rows: list[StageLag]) -> str:
    """The worst stage decides: stuck > no consumers > falling behind > working > idle."""
    verdicts = {
        "stuck": "STUCK",
        "no consumers": "STOPPED (a stage has no consumers)",
        "falling behind": "FALLING BEHIND (lag is growing)",
        "working": "healthy, working",
    }
    for health, verdict in verdicts.items():
        if any(r.health == health for r in rows):
            return verdict
    return "healthy, idle"


async def dead_letter_count(client: aioredis.Redis, topology: Topology) -> int:
    """Dead letters ever written (Redis 7 counts additions; 6.2 only knows what is still there)."""
    try:
        info = await client.xinfo_stream(topology.dead_letter)
    except aioredis.ResponseError:
        return 0
    return int(info.get("entries-added", info["length"]))
