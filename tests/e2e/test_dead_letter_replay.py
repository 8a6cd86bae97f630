"""All four stages: a poisoned document is dead-lettered, and the README's `wenming dlq` and
`wenming reprocess` commands, run as written, list it, replay it after the fix and store it once."""

from __future__ import annotations

import re
import shlex
import shutil
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from faststream import TestApp

from services.extract.app import create_app as create_extract
from services.ingest.app import create_app as create_ingest
from services.normalize.app import create_app as create_normalize
from services.store.app import create_app as create_store
from shared.settings import Settings
from tests.support.polling import eventually
from tests.support.recovery import execute, scalar, scalar_async, wenming

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
# Postgres refuses the document by its name, as it would a value out of a column's range.
POISON = "ALTER TABLE documents ADD CONSTRAINT poison CHECK (file_name <> 'poison.txt')"
THE_FIX = "ALTER TABLE documents DROP CONSTRAINT poison"


def _readme_commands() -> list[list[str]]:
    """The `wenming` commands of the README's section on dead letters and reprocessing, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Dead letters and reprocessing\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    lines = [line for block in blocks for line in block.splitlines() if line.startswith(".venv/bin/wenming ")]
    return [shlex.split(line, comments=True)[1:] for line in lines]


async def test_a_poisoned_document_is_replayed_after_the_fix_as_the_readme_says(
    settings: Settings, seeds_dir: Path
) -> None:
    commands = _readme_commands()
    assert [command[:2] for command in commands] == [
        ["dlq", "list"], ["dlq", "show"], ["dlq", "replay"], ["dlq", "replay"], ["dlq", "purge"],
        ["dlq", "purge"], ["reprocess", "--extractor-older-than"],
    ]  # fmt: skip
    seeds = sorted(seeds_dir.glob("*.txt"))
    async with AsyncExitStack() as stack:
        for create in (create_store, create_extract, create_normalize, create_ingest):
            await stack.enter_async_context(TestApp(create(settings)))
        execute(settings, [POISON])
        shutil.copy(seeds[0], settings.inbox / "good.txt")
        shutil.copy(seeds[1], settings.inbox / "poison.txt")
        await eventually(
            lambda: scalar_async(settings, "SELECT count(*) FROM dead_letters"), lambda n: n == 1, timeout=60
        )
        assert scalar(settings, "SELECT count(*) FROM documents") == 1

        stored = "SELECT count(*) FROM documents WHERE file_name = 'poison.txt'"
        outputs = []
        for command in commands:
            if command[:3] == ["dlq", "replay", "1"]:
                execute(settings, [THE_FIX])
            if command[0] == "reprocess":  # as if stored by the extractor before the README's version
                execute(settings, ["UPDATE documents SET extractor_version = '0.2.0'"])
            ran = await wenming(settings, *command)
            assert ran.returncode == 0, (command, ran.stderr)
            outputs.append(ran.stdout)
            if command[:3] == ["dlq", "replay", "1"]:
                await eventually(lambda: scalar_async(settings, stored), lambda n: n == 1, timeout=60)

    listed, shown, replayed, replayed_all, purged, purged_by_id, reprocessed = outputs
    assert re.search(
        r"^1 .* store +[0-9a-f]{12} +poison\.txt +store rejected: new row .* violates", listed, re.MULTILINE
    )
    assert "reason:     store rejected: " in shown and 'file_name: "poison.txt"' in shown
    assert replayed.startswith("1  store  poison.txt  → ")
    assert replayed_all == "no dead letters to replay\n"
    assert purged.startswith("purged 0 dead letters")
    assert purged_by_id == "purged 1 dead letters: 1\n"
    assert reprocessed.splitlines()[-1].endswith(": 2 updated, 0 unchanged, 0 stale, 0 failed")
    # Stored once each, every figure once.
    assert scalar(settings, "SELECT count(*) FROM documents") == 2
    duplicated = (
        "SELECT count(*) FROM (SELECT 1 FROM metrics GROUP BY document_id, ordinal HAVING count(*) > 1) d"
    )
    assert scalar(settings, duplicated) == 0
    statuses = (
        "SELECT string_agg(l.stage || ':' || l.status, ',' ORDER BY l.id) FROM ingest_log l "
        "JOIN documents d ON d.id = l.doc_id WHERE d.file_name = 'poison.txt'"
    )
    assert scalar(settings, statuses) == "store:failed,store:stored,store:updated"
    # The letter is purged; its replay stays logged.
    assert scalar(settings, "SELECT count(*) FROM dead_letters") == 0
    replays = "SELECT count(*) FROM dead_letter_replays WHERE dead_letter_id IS NULL AND stage = 'store'"
    assert scalar(settings, replays) == 1
