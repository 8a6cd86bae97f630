"""What `wenming dlq` and `wenming reprocess` read from a person and print back: ages, dates, tables.

Pure: the rows come in as dicts, the text goes out as strings.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

# Columns of `wenming dlq list`: (key, heading).
LIST_COLUMNS = (
    ("id", "id"),
    ("failed_at", "failed at"),
    ("stage", "stage"),
    ("doc_id", "doc"),
    ("file_name", "file"),
    ("reason", "reason"),
    ("error_type", "error"),
    ("failures", "failures"),
    ("replayed", "replayed"),
)
_SHORT_ID = 12
_REASON_CHARS = 60
_AGE = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def parse_moment(text: str, *, now: datetime) -> datetime:
    """A moment as a person writes it: an age back from `now` (30d, 12h, 90m) or an ISO date or time
    (a date is its midnight, UTC; a time without a zone is UTC); ValueError says what is accepted."""
    if found := _AGE.match(text):
        return now - int(found.group(1)) * _UNITS[found.group(2)]
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            return datetime.combine(date.fromisoformat(text.strip()), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an age (30d, 12h, 90m) nor a date (2026-11-30) or time (2026-11-30T08:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(moment: datetime | None) -> str:
    """A time as the tables show it: local, to the second."""
    return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def letter_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """`wenming dlq list` for a person: one line per letter, short ids, reasons cut to fit."""
    cells = [[heading for _, heading in LIST_COLUMNS]]
    for row in rows:
        shown = {
            **row,
            "failed_at": when(row["failed_at"]),
            "doc_id": (row["doc_id"] or "")[:_SHORT_ID],
            "reason": _cut(row["reason"] or "", _REASON_CHARS),
        }
        cells.append(["" if shown.get(key) is None else str(shown[key]) for key, _ in LIST_COLUMNS])
    return table(cells)


def table(cells: Sequence[Sequence[str]]) -> str:
    """Columns aligned, CJK characters counted two wide, the last column left ragged."""
    widths = [max(width(line[i]) for line in cells) for i in range(len(cells[0]))]
    lines = []
    for line in cells:
        padded = [cell + " " * (w - width(cell)) for cell, w in zip(line[:-1], widths, strict=False)]
        lines.append("  ".join([*padded, line[-1]]).rstrip())
    return "\n".join(lines)


def width(text: str) -> int:
    """Terminal width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def letters_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """`wenming dlq list --csv`: every column in full, times in ISO 8601."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([key for key, _ in LIST_COLUMNS])
    for row in rows:
        writer.writerow([_plain(row.get(key)) for key, _ in LIST_COLUMNS])
    return out.getvalue()


def letters_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """`wenming dlq list --json`: one array of objects, every column in full."""
    return json.dumps(
        [{key: _plain(row.get(key)) for key, _ in LIST_COLUMNS} for row in rows], ensure_ascii=False
    )


def replay_obstacle(letter: Mapping[str, Any], inputs: Collection[str]) -> str | None:
    """Why a letter can never be replayed, as far as its row tells (`inputs`: the streams the stages
    read); None if it can be once the cause is fixed (an ingest letter's file may still be gone)."""
    if letter["stage"] == "ingest" and letter["stream"] is None:
        return None if letter["file_name"] else "it names no file"
    if letter["payload"] is None:
        return "it keeps no message (dead-lettered before letters kept theirs)"
    if letter["stream"] not in inputs:
        return f"it was read from {letter['stream']}, not the input of a stage under this stream prefix"
    # The store puts referenced fields back into the letter: a reference left was gone already.
    gone = [
        name.removesuffix("_ref")
        for name, value in letter["payload"].items()
        if name.endswith("_ref") and isinstance(value, dict)
    ]
    if gone:
        return f"its {', '.join(gone)} was gone from Redis when it was dead-lettered: drop the file again"
    return None


def unreplayable(letter_id: int, obstacle: str) -> str:
    """Why a letter cannot be replayed, and what removes it."""
    return f"{obstacle}; `wenming dlq purge {letter_id}` removes it"


def letter_details(
    letter: Mapping[str, Any], replays: Sequence[Mapping[str, Any]], *, obstacle: str | None = None
) -> str:
    """`wenming dlq show`: everything about one letter, whether it can be replayed, its replays, its
    message in brief, its trace."""
    fields = [
        ("id", letter["id"]),
        ("stage", letter["stage"]),
        ("stream", letter["stream"] or "(none: ingest's files wait in failed/)"),
        ("doc id", letter["doc_id"]),
        ("file", letter["file_name"]),
        ("failed at", when(letter["failed_at"])),
        ("reason", letter["reason"]),
        ("error type", letter["error_type"]),
        ("failures", f"{letter['failures']} of this document at {letter['stage']}"),
        ("replayed", f"{letter['replayed']} times" + (f", last {when(letter['last_replayed_at'])}"
                                                      if letter["last_replayed_at"] else "")),
    ]  # fmt: skip
    if obstacle:
        fields.append(("replay", "not possible: " + unreplayable(letter["id"], obstacle)))
    lines = [f"{name + ':':<12}{'' if value is None else value}" for name, value in fields]
    for replay in replays:
        where = replay["moved_to"] and f"moved back to the inbox as {replay['moved_to']}"
        lines.append(
            f"{'':<12}{when(replay['replayed_at'])} by {replay['replayed_by']}: "
            + (where or f"{replay['stream']} entry {replay['entry_id']}")
        )
    lines.append("message:")
    lines += [f"  {line}" for line in payload_summary(letter["payload"])]
    if letter["trace"]:
        lines.append("trace:")
        lines += [f"  {line}" for line in letter["trace"].rstrip().splitlines()]
    return "\n".join(lines)


def payload_summary(payload: Mapping[str, Any] | None) -> list[str]:
    """The message a letter keeps, field by field: short values as they are, long ones by their size."""
    if payload is None:
        return ["(none kept: an ingest letter, or one from before messages were kept)"]
    lines = []
    # In an order a person reads (Postgres keeps a JSON object's keys in an order of its own).
    for name, value in sorted(payload.items(), key=lambda item: _field_order(item[0])):
        if name.endswith("_ref") and isinstance(value, dict):
            lines.append(
                f"{name}: by reference, {value.get('key')} ({value.get('size_bytes')} bytes), not kept"
            )
        elif isinstance(value, str) and len(value) > 80:
            lines.append(f"{name}: {len(value):,} characters, {_cut(' '.join(value.split()), 40)}")
        elif isinstance(value, list | tuple) and len(value) > 3:
            lines.append(f"{name}: {len(value):,} items")
        elif value is not None and value != "" and value != [] and value is not False:
            lines.append(f"{name}: {_cut(json.dumps(value, ensure_ascii=False), 100)}")
    return lines


def reprocess_summary(total: int, outcomes: Mapping[str, int], seconds: float) -> str:
    """The last line of `wenming reprocess`."""
    counted = ", ".join(
        f"{outcomes.get(name, 0)} {name}" for name in ("updated", "unchanged", "stale", "failed")
    )
    return f"reprocessed {total} documents in {seconds:.1f}s: {counted}"


_FIRST_FIELDS = ("doc_id", "file_name", "format", "encoding", "size_bytes", "script", "extractor_version")


def _field_order(name: str) -> tuple[int, str]:
    return (_FIRST_FIELDS.index(name), "") if name in _FIRST_FIELDS else (len(_FIRST_FIELDS), name)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
