"""ingest stage: watch the inbox and publish each complete file as a document."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import redis.asyncio as aioredis

from services.ingest.watcher import InboxWatcher, Outcome
from shared.content_store import ContentStore
from shared.contracts import DeadLetter
from shared.metrics import StageMetrics
from shared.references import Detached, by_reference
from shared.servers import StageApp, wait_for_redis
from shared.settings import Settings
from shared.streaming.groups import ensure_consumer_groups
from shared.streaming.liveness import beating, heartbeat_key
from shared.streaming.publishing import build_broker, publish_all
from shared.streams import Topology

log = logging.getLogger(__name__)

# Long enough for a batch's decode and publish; a replica that dies mid-file frees its files then,
# or sooner: see _CLAIM.
CLAIM_TTL_S = 60
# A file is ours to take when nobody claims it, when we do (a publish that failed while Redis was
# away could not release it), or when its claimant no longer sends heartbeats (killed mid-file):
# it would otherwise wait out the claim's expiry. ARGV[3] prefixes the claimant's heartbeat key.
_CLAIM = """
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] or redis.call('EXISTS', ARGV[3] .. owner) == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""
# Delete a claim only if it is still ours: after expiry it may belong to another replica.
_RELEASE_IF_OURS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def create_app(settings: Settings) -> StageApp:
    """Wire the ingest stage: inbox folder in, ingested (or dead-letter) stream out."""
    metrics = StageMetrics("ingest")
    broker = build_broker(settings, metrics)
    topology = Topology(settings.stream_prefix)
    redis_url = settings.require_redis_url()

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await wait_for_redis(redis_url, stopping=app.stopping)
        await ensure_consumer_groups(redis_url, topology.consumer_groups())
        client = aioredis.from_url(redis_url)
        release_if_ours = client.register_script(_RELEASE_IF_OURS)
        take_if_free = client.register_script(_CLAIM)
        heartbeats = heartbeat_key(settings.stream_prefix, "ingest", "")

        def claim_key(path: str) -> bytes:
            # The path under the inbox ('老河口市/report.txt'), unique since a name holds no '/';
            # names need not be UTF-8: key on their bytes.
            return f"{settings.stream_prefix}:ingest-claim:".encode() + os.fsencode(path)

        async def claim(path: str) -> bool:
            """Replicas sharing one inbox take each file once: the first to claim it (its sidecar goes
            with it, unclaimed)."""
            claimed = await take_if_free(
                keys=[claim_key(path)], args=[settings.consumer_name, CLAIM_TTL_S, heartbeats]
            )
            return bool(claimed)

        async def release(path: str) -> None:
            await release_if_ours(keys=[claim_key(path)], args=[settings.consumer_name])

        contents = ContentStore(client, ttl_s=settings.reference_ttl_s)

        def as_published(outcome: Outcome) -> tuple[str, Detached[Any]]:
            if isinstance(outcome, DeadLetter):
                return topology.dead_letter, Detached(outcome, {})
            detached = by_reference(
                outcome, inline_bytes=settings.inline_text_bytes, key_prefix=topology.contents
            )
            return topology.ingested, detached

        async def publish(outcomes: list[Outcome]) -> None:
            # A large text is kept once, in the same transaction as the message that refers to it.
            published = await anyio.to_thread.run_sync(lambda: [as_published(o) for o in outcomes])
            async with client.pipeline(transaction=True) as pipe:
                contents.keep(pipe, (detached for _, detached in published), held=())
                messages = [(stream, d.message) for stream, d in published]
                await publish_all(broker, pipe, messages, metrics=metrics)

        watcher = InboxWatcher(
            settings.inbox.absolute(),
            publish,
            min_age=settings.file_min_age_s,
            rescan_interval=settings.rescan_interval_s,
            max_bytes=settings.max_file_bytes,
            claim=claim,
            release=release,
        )
        watcher.prepare()  # the inbox exists as soon as the stage reports started
        app.context.set_global("watcher", watcher)
        try:
            async with beating(
                redis_url, prefix=settings.stream_prefix, stage="ingest", consumer=settings.consumer_name
            ) as heartbeat:
                watcher.on_scan = heartbeat.record_error, heartbeat.clear_error
                yield
        finally:
            await client.aclose()

    app = StageApp(broker, lifespan=lifespan, metrics=metrics)
    tasks: list[asyncio.Task[None]] = []

    def exit_if_crashed(task: asyncio.Task[None]) -> None:
        # A dead watcher must not leave a live-looking process: exit, so a supervisor restarts us.
        if not task.cancelled() and task.exception() is not None:
            log.critical("the inbox watcher stopped", exc_info=task.exception())
            app.exit()

    @app.after_startup
    async def start_watching() -> None:
        task = asyncio.create_task(app.context.get("watcher").run())
        task.add_done_callback(exit_if_crashed)
        tasks.append(task)

    @app.on_shutdown
    async def stop_watching() -> None:
        app.context.get("watcher").stop()
        await asyncio.gather(*tasks, return_exceptions=True)

    return app
