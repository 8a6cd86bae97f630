"""The operator's view: per stage, how far behind it is, whether it is alive, and whether it progresses.

A stage is judged from its progress and errors, not only from counts: its replicas' heartbeats
say when each last acknowledged work (or started on some) and the error of their last attempts
while these fail. Everything is read in two round trips to Redis.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import redis.asyncio as aioredis

from shared.streaming.liveness import heartbeat_key, heartbeat_registry
from shared.streams import STAGES, Topology

# Entries after the group's last delivered one: the stream's length less those up to it, which
# trimming keeps few (a group's pending ones). Redis 6.2 has no lag field, and 7 omits it after trims.
_COUNT_AFTER = "return redis.call('XLEN', KEYS[1]) - #redis.call('XRANGE', KEYS[1], '-', ARGV[1])"

Health = Literal["idle", "working", "falling behind", "failing", "no consumers"]
Verdict = Literal["healthy", "degraded", "falling behind", "failing", "stopped"]


@dataclass(frozen=True)
class ConsumerInfo:
    name: str
    pending: int
    idle_s: float | None  # None: not listed by Redis (ingest, or a replica that has just started)
    alive: bool = True  # its process still sends heartbeats; Redis lists killed consumers until removed


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
    last_error: str | None = None  # why it is failing: its replicas' last error, or no progress
    quiet_s: float | None = None  # since a live replica last acknowledged (or started on) some work

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InboxState:
    waiting: int
    oldest_wait_s: float | None


def judge(
    *, waiting: int, live_consumers: int, error: str | None, quiet_s: float | None, stalled_after_s: float
) -> tuple[Health, str | None]:
    """One word for a stage, and why when it is failing.

    `waiting`: entries (or files) not yet done; `quiet_s`: how long the stage has acknowledged
    nothing (nor started on anything); `error`: its replicas' last attempts failed with it.
    """
    if not live_consumers:  # nobody reads: a stopped stage, whether or not work waits
        return "no consumers", None
    if error:
        return "failing", error
    if not waiting:
        return "idle", None
    if quiet_s is not None and quiet_s > stalled_after_s:
        return "failing", f"acknowledged nothing for {quiet_s:.0f}s while {waiting} waited"
    return "working", None


async def read_lag(
    client: aioredis.Redis,
    topology: Topology,
    *,
    stalled_after_s: float = 120.0,
    inbox: InboxState | None = None,
) -> list[StageLag]:
    """Every stage in pipeline order: ingest (when its inbox is known), then each (stream, group)."""
    pairs = topology.consumer_groups()
    async with client.pipeline(transaction=False) as pipe:
        pipe.time()
        for stage in STAGES:
            pipe.smembers(heartbeat_registry(topology.prefix, stage))
        for stream, group in pairs:
            pipe.xlen(stream)
            pipe.xinfo_groups(stream)
            pipe.xinfo_consumers(stream, group)
            pipe.xpending_range(stream, group, min="-", max="+", count=1)
        replies = await pipe.execute(raise_on_error=False)
    (seconds, micros), replies = replies[0], replies[1:]
    now = seconds + micros / 1_000_000  # Redis's clock, as the entry ids are
    # Whose heartbeats to read: every replica that has beaten, and every consumer Redis lists.
    names = {stage: {_text(name) for name in _ok(replies[n], set())} for n, stage in enumerate(STAGES)}
    replies = replies[len(STAGES) :]
    groups = [replies[4 * n : 4 * n + 4] for n in range(len(pairs))]
    for (_, group), (_, _, consumers, _) in zip(pairs, groups, strict=True):
        names[group] |= {_text(c["name"]) for c in _ok(consumers, [])}
    beats = await _heartbeats(client, topology.prefix, names)
    rows = []
    if inbox is not None:
        rows.append(_ingest_row(beats.get("ingest", {}), inbox, now, stalled_after_s))
    for (stream, group), (length, infos, consumers, oldest) in zip(pairs, groups, strict=True):
        rows.append(
            await _group_row(
                client,
                stream,
                group,
                length=_ok(length, 0),
                info=next((g for g in _ok(infos, []) if _text(g["name"]) == group), None),
                consumers=_ok(consumers, []),
                oldest=_ok(oldest, []),
                beats=beats.get(group, {}),
                now=now,
                stalled_after_s=stalled_after_s,
            )
        )
    return rows


async def read_heartbeats(client: aioredis.Redis, prefix: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Live replicas by stage and consumer name, with what each last reported."""
    async with client.pipeline(transaction=False) as pipe:
        for stage in STAGES:
            pipe.smembers(heartbeat_registry(prefix, stage))
        members = await pipe.execute()
    names = {stage: {_text(name) for name in found} for stage, found in zip(STAGES, members, strict=True)}
    return await _heartbeats(client, prefix, names)


async def _heartbeats(
    client: aioredis.Redis, prefix: str, names: dict[str, set[str]]
) -> dict[str, dict[str, dict[str, Any]]]:
    wanted = [(stage, name) for stage, found in names.items() for name in sorted(found)]
    if not wanted:
        return {}
    values = await client.mget([heartbeat_key(prefix, stage, name) for stage, name in wanted])
    alive: dict[str, dict[str, dict[str, Any]]] = {}
    for (stage, name), raw in zip(wanted, values, strict=True):
        if raw is None:
            continue
        try:
            beat = json.loads(raw)
        except ValueError:
            beat = {}
        alive.setdefault(stage, {})[name] = beat if isinstance(beat, dict) else {}
    return alive


def _ingest_row(
    beats: dict[str, dict[str, Any]], inbox: InboxState, now: float, stalled_after_s: float
) -> StageLag:
    consumers = [ConsumerInfo(name, 0, None) for name in sorted(beats)]
    error = _last_error(beats)
    # Ingest acknowledges nothing: a file left waiting this long says it takes none.
    health, reason = judge(
        waiting=inbox.waiting,
        live_consumers=len(consumers),
        error=error,
        quiet_s=inbox.oldest_wait_s,
        stalled_after_s=stalled_after_s,
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
        reason or error,
        None,
    )


async def _group_row(
    client: aioredis.Redis,
    stream: str,
    group: str,
    *,
    length: int,
    info: dict[str, Any] | None,
    consumers: list[dict[str, Any]],
    oldest: list[dict[str, Any]],
    beats: dict[str, dict[str, Any]],
    now: float,
    stalled_after_s: float,
) -> StageLag:
    if info is None:
        return StageLag(group, stream, group, length, length, 0, None, None, [], "no consumers")
    pending = int(info["pending"])
    lag = info.get("lag")
    if lag is None:
        lag = await client.eval(_COUNT_AFTER, 1, stream, _text(info["last-delivered-id"]))
    listed = {_text(c["name"]): c for c in consumers}
    shown = [
        ConsumerInfo(name, int(c["pending"]), int(c["idle"]) / 1000, alive=name in beats)
        for name, c in listed.items()
    ]
    # A replica that has just started beats before Redis lists it: shown by name all the same.
    shown += [ConsumerInfo(name, 0, None) for name in sorted(beats) if name not in listed]
    oldest_age = oldest_deliveries = None
    if pending and oldest:
        added_ms = int(_text(oldest[0]["message_id"]).split("-")[0])
        oldest_age = max(0.0, now - added_ms / 1000)
        oldest_deliveries = int(oldest[0]["times_delivered"])
    quiet_s = quiet_since(beats, now)
    error = _last_error(beats)
    health, reason = judge(
        waiting=int(lag) + pending,
        live_consumers=len(beats),
        error=error,
        quiet_s=quiet_s,
        stalled_after_s=stalled_after_s,
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
        shown,
        health,
        reason,
        quiet_s,
    )


def quiet_since(beats: dict[str, dict[str, Any]], now: float) -> float | None:
    """Since the liveliest replica last acknowledged work, started on some, or started at all."""
    moments = [
        max(float(beat.get(key) or 0) for key in ("acked_at", "busy_since", "started_at"))
        for beat in beats.values()
    ]
    moments = [moment for moment in moments if moment]
    return max(0.0, now - max(moments)) if moments else None


def _last_error(beats: dict[str, dict[str, Any]]) -> str | None:
    errors = [
        f"{name}: {beat['last_error']}" for name, beat in sorted(beats.items()) if beat.get("last_error")
    ]
    return "; ".join(errors) or None


def _ok(reply: Any, default: Any) -> Any:
    """A pipelined reply, or `default` where Redis answered an error (no such stream or group yet)."""
    return default if isinstance(reply, Exception) else reply


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


def verdict(rows: list[StageLag], new_dead_letters: int = 0) -> Verdict:
    """The pipeline's word: failing > stopped > falling behind > degraded (new dead letters) > healthy."""
    health = {r.health for r in rows}
    if "failing" in health:
        return "failing"
    if "no consumers" in health:
        return "stopped"
    if "falling behind" in health:
        return "falling behind"
    return "degraded" if new_dead_letters else "healthy"


_SAID: dict[Verdict, str] = {
    "failing": "FAILING",
    "stopped": "STOPPED (a stage has no live consumer)",
    "falling behind": "FALLING BEHIND (lag is growing)",
    "degraded": "DEGRADED (documents dead-lettered since the last check)",
    "healthy": "healthy",
}


def render_table(rows: list[StageLag], dead_letters: int, new_dead_letters: int = 0) -> str:
    """A screenful for the operator: one line per stage, each failing stage's reason once, the verdict."""
    header = ("stage", "stream", "length", "lag", "pending", "oldest", "consumers", "health")
    lines = [header]
    for r in rows:
        oldest = "-" if r.oldest_pending_age_s is None else f"{r.oldest_pending_age_s:.0f}s"
        if r.oldest_pending_deliveries and r.oldest_pending_deliveries > 1:
            oldest += f" (tried {r.oldest_pending_deliveries}x)"
        lines.append(
            (
                r.stage,
                r.stream or "inbox folder",
                str(r.length),
                str(r.lag),
                str(r.pending),
                oldest,
                ", ".join(_consumer(c) for c in r.consumers) or "none",
                r.health,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    out.append("")
    said: set[str] = set()
    for r in rows:  # the store reads two streams: its error is one
        if r.last_error and r.stage not in said:
            said.add(r.stage)
            out.append(f"{r.stage} {r.health}: {r.last_error}")
    word = verdict(rows, new_dead_letters)
    news = f" ({new_dead_letters} new)" if new_dead_letters else ""
    at = time.strftime("%H:%M:%S")
    out.append(f"pipeline: {_SAID[word]}    dead letters so far: {dead_letters}{news}    ({at})")
    return "\n".join(out)


def _consumer(c: ConsumerInfo) -> str:
    if not c.alive:
        return f"{c.name} (gone)"
    return c.name if c.idle_s is None else f"{c.name} (idle {c.idle_s:.0f}s)"


def is_healthy(rows: list[StageLag], new_dead_letters: int = 0) -> bool:
    return verdict(rows, new_dead_letters) == "healthy"


async def dead_letter_count(client: aioredis.Redis, topology: Topology) -> int:
    """Dead letters ever written, on any Redis version (the stream itself is trimmed once stored)."""
    return int(await client.get(topology.dead_letters_added) or 0)


async def dead_letters_since_last_check(client: aioredis.Redis, topology: Topology, count: int) -> int:
    """How many of `count` dead letters are new since the last check, which this one now becomes."""
    seen = await client.getset(topology.dead_letters_seen, count)
    return max(0, count - int(seen or 0))
