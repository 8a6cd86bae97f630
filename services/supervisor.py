"""`wenming up`: the four stages as child processes on one machine, with servers if none are given."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from services.embedded import EmbeddedPostgres, EmbeddedRedis, die_with_parent
from shared.streams import STAGES

if TYPE_CHECKING:  # `wenming env` imports this module and needs no settings
    from shared.settings import Settings

log = logging.getLogger("wenming.up")
INSTANCE_FILE = "instance.json"
_RESTART_BACKOFF_S = 2.0


def read_instance(data_dir: Path) -> dict[str, str] | None:
    """The URLs of the pipeline running from `data_dir`, if its supervisor is alive."""
    try:
        instance = json.loads((data_dir / INSTANCE_FILE).read_text(encoding="utf-8"))
        os.kill(int(instance["pid"]), 0)
        return {
            "WENMING_REDIS_URL": instance["redis_url"],
            "WENMING_DATABASE_URL": instance["database_url"],
            "WENMING_STREAM_PREFIX": instance["stream_prefix"],
            "inbox": instance["inbox"],
        }
    except (OSError, ValueError, KeyError):
        return None


def run_pipeline(settings: Settings, *, data_dir: Path) -> int:
    """Run until Ctrl-C or SIGTERM; children that die are restarted."""
    # Imported here: `wenming env` and `wenming lag` read the instance file from this module.
    from services.store.schema import create_database_if_missing

    data_dir = data_dir.absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Two pipelines on one data folder would share an embedded server's files and one inbox.
    lock = (data_dir / "lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.error("a pipeline already runs from %s; stop it first, or use another --data-dir", data_dir)
        return 1
    servers: list[EmbeddedRedis | EmbeddedPostgres] = []
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        redis_url = settings.redis_url
        if not redis_url:
            server = EmbeddedRedis(data_dir / "redis")
            servers.append(server)
            redis_url = server.start()
            log.info(
                "WENMING_REDIS_URL not set: started embedded Redis at %s (data in %s)",
                redis_url,
                server.data_dir,
            )
        database_url = settings.database_url
        if not database_url:
            pg = EmbeddedPostgres(data_dir / "postgres")
            servers.append(pg)
            database_url = pg.start()
            log.info("WENMING_DATABASE_URL not set: started embedded Postgres at %s", database_url)
        # So that `eval $(wenming env); psql "$WENMING_DATABASE_URL"` works from the first moment.
        create_database_if_missing(database_url)
        inbox = settings.inbox.absolute()
        inbox.mkdir(parents=True, exist_ok=True)
        (data_dir / INSTANCE_FILE).write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "redis_url": redis_url,
                    "database_url": database_url,
                    "inbox": str(inbox),
                    "stream_prefix": settings.stream_prefix,
                }
            ),
            encoding="utf-8",
        )
        env = {
            **os.environ,
            "WENMING_REDIS_URL": redis_url,
            "WENMING_DATABASE_URL": database_url,
            "WENMING_INBOX": str(inbox),
        }
        log.info("watching %s; drop files there. `wenming lag` shows progress, Ctrl-C stops.", inbox)
        # Store first: it applies the migrations the others never wait for.
        started_at: dict[str, float] = {}
        while not stopping:
            for stage in ("store", *[s for s in STAGES if s != "store"]):
                child = children.get(stage)
                if child is not None and child.poll() is None:
                    continue
                if child is not None:
                    log.warning("%s exited with %s; restarting", stage, child.returncode)
                    if time.monotonic() - started_at[stage] < _RESTART_BACKOFF_S:
                        time.sleep(_RESTART_BACKOFF_S)
                children[stage] = subprocess.Popen(
                    [sys.executable, "-m", "services.cli", "serve", stage],
                    env=env,
                    start_new_session=True,  # Ctrl-C reaches only the supervisor, which stops them all
                    preexec_fn=die_with_parent,
                )
                started_at[stage] = time.monotonic()
            time.sleep(0.5)
        log.info("stopping")
        return 0
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        for embedded in reversed(servers):
            embedded.stop()
        (data_dir / INSTANCE_FILE).unlink(missing_ok=True)
