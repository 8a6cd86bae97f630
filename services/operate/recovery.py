"""The `wenming dlq` and `wenming reprocess` command lines: argparse, and handlers that load the
database driver and Redis only when they run, so that `wenming --help` stays quick."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from shared.streams import STAGES

if TYPE_CHECKING:
    from shared.settings import Settings

Formatter = type[argparse.HelpFormatter]


def add_recovery_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    formatter_class: Formatter,
    load_settings: Callable[..., Settings],
) -> None:
    """Register `wenming dlq {list,show,replay,purge}` and `wenming reprocess` on the `wenming` parser."""

    def command(
        parent: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str
    ) -> argparse.ArgumentParser:
        return parent.add_parser(name, help=summary, description=summary, formatter_class=formatter_class)

    dlq = command(commands, "dlq", "dead letters: what failed, where, why and how often; replay once fixed")
    actions = dlq.add_subparsers(
        dest="dlq", required=True, metavar="ACTION", help="list, show, replay or purge"
    )

    listing = command(actions, "list", "the dead letters, oldest first")
    _stage_option(listing)
    listing.add_argument(
        "--since", metavar="WHEN", help="only letters since then: 7d, 12h, or a date (2026-11-30)"
    )
    outputs = listing.add_mutually_exclusive_group()
    outputs.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    outputs.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    listing.set_defaults(handler=lambda args: _dlq(args, load_settings("dlq list"), _list))

    showing = command(
        actions, "show", "one dead letter in full: reason, error type, trace, its message, replays"
    )
    showing.add_argument("id", type=int, metavar="ID", help="the letter's id, as `wenming dlq list` shows it")
    showing.set_defaults(handler=lambda args: _dlq(args, load_settings("dlq show"), _show))

    replay = command(
        actions,
        "replay",
        "send dead letters back to the stage that failed, once the cause is fixed: a message is published "
        "again to that stage's stream, a file ingest could not use is moved back into the inbox",
    )
    chosen = replay.add_mutually_exclusive_group(required=True)
    chosen.add_argument("ids", type=int, nargs="*", default=[], metavar="ID", help="the letters to replay")
    chosen.add_argument("--all", action="store_true", help="every letter never replayed")
    _stage_option(replay, " (with --all)")
    replay.add_argument(
        "--inbox",
        type=Path,
        metavar="DIR",
        help="the inbox of ingest's failed files (default: $WENMING_INBOX)",
    )
    replay.set_defaults(
        handler=lambda args: _dlq(args, load_settings("dlq replay", inbox=args.inbox), _replay)
    )

    purge = command(actions, "purge", "delete old dead letters, or those named (their replays stay logged)")
    purged = purge.add_mutually_exclusive_group(required=True)
    purged.add_argument("ids", type=int, nargs="*", default=[], metavar="ID", help="the letters to delete")
    purged.add_argument(
        "--older-than", metavar="AGE", help="30d, 12h, or a date (2026-11-30): letters before it"
    )
    purge.set_defaults(handler=lambda args: _dlq(args, load_settings("dlq purge"), _purge))

    again = command(
        commands,
        "reprocess",
        "extract stored documents again, from their stored text, through the running pipeline "
        "(so that a better extractor reaches old documents); their figures are replaced, never duplicated",
    )
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every stored document")
    which.add_argument(
        "--since", metavar="WHEN", help="documents ingested since then: 7d, or a date (2026-11-30)"
    )
    which.add_argument(
        "--doc", nargs="+", metavar="ID", help="documents by id (or its first 6 or more characters)"
    )
    which.add_argument(
        "--extractor-older-than", metavar="VERSION", help="documents whose figures an older extractor found"
    )
    again.add_argument(
        "--no-wait", action="store_true", help="publish and return, without waiting for the store"
    )
    again.add_argument(
        "--timeout",
        type=float,
        default=600,
        metavar="SECONDS",
        help="give up waiting when nothing has been stored for this long (default: %(default)s)",
    )
    again.set_defaults(handler=lambda args: _dlq(args, load_settings("reprocess"), _reprocess))


def _stage_option(parser: argparse.ArgumentParser, note: str = "") -> None:
    parser.add_argument(
        "--stage", choices=STAGES, metavar="STAGE", help=f"only this stage's: %(choices)s{note}"
    )


def _dlq(
    args: argparse.Namespace, settings: Settings, action: Callable[[argparse.Namespace, Settings], int]
) -> int:
    """Run an action; what stops it is said in one line."""
    from services.operate.dlq import DlqError

    name = "reprocess" if args.command == "reprocess" else f"dlq {args.dlq}"
    try:
        return action(args, settings)
    except (DlqError, ValueError) as exc:
        print(f"wenming {name}: {exc}", file=sys.stderr)
        return 1


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from services.operate import dlq_text
    from services.operate.dlq import database, list_letters

    since = dlq_text.parse_moment(args.since, now=datetime.now(UTC)) if args.since else None
    with database(settings) as engine, engine.connect() as conn:
        rows = list_letters(conn, stage=args.stage, since=since)
    if args.json:
        print(dlq_text.letters_json(rows))
    elif args.csv:
        sys.stdout.write(dlq_text.letters_csv(rows))
    elif rows:
        print(dlq_text.letter_table(rows))
    if not rows:
        print("no dead letters", file=sys.stderr if args.json or args.csv else sys.stdout)
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    from services.operate.dlq import database, show

    with database(settings) as engine:
        print(show(engine, args.id, settings))
    return 0


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from services.operate.dlq import database, replay, replay_selection

    with database(settings) as engine:
        with engine.connect() as conn:
            ids = replay_selection(conn, ids=args.ids, every=args.all, stage=args.stage)
        if not ids:
            print("no dead letters to replay")
            return 0
        return asyncio.run(replay(settings, engine, ids))


def _purge(args: argparse.Namespace, settings: Settings) -> int:
    from services.operate import dlq_text
    from services.operate.dlq import database, purge, purge_letters

    if args.ids:
        with database(settings) as engine, engine.begin() as conn:
            purged = purge_letters(conn, args.ids)
        print(f"purged {len(purged)} dead letters" + (f": {', '.join(map(str, purged))}" if purged else ""))
        for missing in dict.fromkeys(i for i in args.ids if i not in purged):
            print(f"wenming dlq purge: no dead letter {missing}", file=sys.stderr)
        return 0 if len(set(args.ids)) == len(purged) else 1
    before = dlq_text.parse_moment(args.older_than, now=datetime.now(UTC))
    with database(settings) as engine, engine.begin() as conn:
        count = purge(conn, before=before)
    print(f"purged {count} dead letters that failed before {dlq_text.when(before)}")
    return 0


def _reprocess(args: argparse.Namespace, settings: Settings) -> int:
    from services.operate import dlq_text
    from services.operate.dlq import database
    from services.operate.reprocess import (
        Selection,
        Tally,
        is_version,
        reprocess,
        select_documents,
        unfinished,
    )

    older_than = args.extractor_older_than
    if older_than is not None and not is_version(older_than):
        shown = f"--extractor-older-than {older_than}"
        print(f"wenming reprocess: {shown}: not a version (such as 0.3.0)", file=sys.stderr)
        return 2
    since = dlq_text.parse_moment(args.since, now=datetime.now(UTC)) if args.since else None
    selection = Selection(every=args.all, since=since, doc_ids=tuple(args.doc or ()), older_than=older_than)
    with database(settings) as engine:
        doc_ids = select_documents(engine, selection)
        if not doc_ids:
            print("no documents to reprocess")
            return 0
        tally = Tally()
        try:
            return asyncio.run(
                reprocess(
                    settings, engine, doc_ids, wait=not args.no_wait, timeout_s=args.timeout, tally=tally
                )
            )
        except KeyboardInterrupt:
            unfinished(tally, "interrupted")
            return 130
