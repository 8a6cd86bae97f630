"""One scan of an inbox by the real watcher, with publishing recorded: in this process or as another user.

`python -m tests.support.inbox_scan INBOX...` prints each inbox's scan result in a JSON list, so a
test can run the ingest write paths under an unprivileged uid and check them from the test process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from services.ingest.folders import UnsafeFolder
from services.ingest.watcher import InboxWatcher, Outcome
from shared.contracts import DocumentIngested


async def scan_inbox(inbox: Path) -> dict[str, Any]:
    """What one scan published ({kind, file_name, reason, place}) and, if it refused to run, why."""
    published: list[dict[str, Any]] = []

    async def publish(outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if isinstance(outcome, DocumentIngested):
                facts = outcome.file_facts
                place = facts.place if facts else None
                published.append({"kind": "ingested", "file_name": outcome.file_name, "place": place})
            else:
                published.append({"kind": "failed", "file_name": outcome.file_name, "reason": outcome.reason})

    watcher = InboxWatcher(inbox, publish, min_age=0, rescan_interval=1, max_bytes=1_000_000)
    watcher.prepare()
    refused = None
    try:
        await watcher.scan_once()
    except UnsafeFolder as exc:
        refused = str(exc)
    return {
        "published": published,
        "refused": refused,
        "uid": os.geteuid(),
        "capabilities": _effective_caps(),
    }


def _effective_caps() -> int | None:
    """The effective capability set (Linux), to show that a dropped scan really runs unprivileged."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    return next(
        (int(line.split()[1], 16) for line in status.splitlines() if line.startswith("CapEff:")), None
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    results = []
    for inbox in sys.argv[1:]:
        try:
            results.append(asyncio.run(scan_inbox(Path(inbox))))
        except Exception as exc:  # reported for that inbox; the others are still scanned
            results.append({"published": [], "refused": None, "crashed": repr(exc), "uid": os.geteuid()})
    print(json.dumps(results))
