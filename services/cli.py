"""The `wenming` command."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from services.ingest.readers import UnreadableDocument
from services.query.commands import add_query_commands

METRIC_COLUMNS = (
    "file",
    "value",
    "unit_kind",
    "measure_word",
    "qualifier",
    "indicator",
    "subject",
    "city",
    "year",
    "surface",
    "start",
    "end",
    "sentence",
)


def _cmd_extract(args: argparse.Namespace) -> int:
    from services.analysis import Analyzer

    analyzer = Analyzer(resolve_relative_years=args.resolve_relative_years)
    status = 0
    rows: list[dict[str, object]] = []
    for path in args.files:
        try:
            analysis = analyzer.analyse_file(path)
        except (UnreadableDocument, OSError) as exc:
            print(f"wenming extract: {path}: {exc}", file=sys.stderr)
            status = 1
            continue
        for metric in analysis.metrics:
            row: dict[str, object] = {"file": path.name, **metric.model_dump()}
            if args.format == "jsonl":
                print(json.dumps(row, ensure_ascii=False))
            else:
                rows.append(row)
    if args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=METRIC_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    elif args.format == "table":
        _print_table(rows)
    return status


def _print_table(rows: list[dict[str, object]]) -> None:
    columns = ("file", "surface", "value", "unit_kind", "qualifier", "indicator", "city", "year", "subject")
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([_width(c)] + [_width(row[i]) for row in cells]) for i, c in enumerate(columns)]
    for line in [list(columns), *cells]:
        print("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(line, widths, strict=True)))


def _width(text: str) -> int:
    """Terminal width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _cmd_serve(args: argparse.Namespace) -> int:
    import asyncio
    import importlib

    from shared.settings import Settings

    _configure_logging()
    settings = Settings()
    if args.inbox:
        settings = settings.model_copy(update={"inbox": args.inbox})
    module = importlib.import_module(f"services.{args.stage}.app")
    asyncio.run(module.create_app(settings).run())
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    from services.supervisor import run_pipeline
    from shared.settings import Settings

    _configure_logging()
    settings = Settings()
    if args.inbox:
        settings = settings.model_copy(update={"inbox": args.inbox})
    return run_pipeline(settings, data_dir=args.data_dir)


def _cmd_env(args: argparse.Namespace) -> int:
    from services.supervisor import read_instance

    instance = read_instance(args.data_dir)
    if instance is None:
        print(
            f"wenming env: no running pipeline found in {args.data_dir} (start one with `wenming up`)",
            file=sys.stderr,
        )
        return 1
    for key in ("WENMING_REDIS_URL", "WENMING_DATABASE_URL", "WENMING_STREAM_PREFIX"):
        print(f"{key}={shlex.quote(instance[key])}")
    return 0


def _cmd_lag(args: argparse.Namespace) -> int:
    import asyncio

    from services.lag_cli import show_lag
    from shared.settings import Settings

    try:
        return asyncio.run(
            show_lag(
                Settings(),
                data_dir=args.data_dir,
                as_json=args.json,
                watch=args.watch,
                interval=args.interval,
            )
        )
    except KeyboardInterrupt:  # the way to leave --watch
        return 0


def _cmd_check(args: argparse.Namespace) -> int:
    """Container health check: the stage's servers answer."""
    import asyncio

    from services.health import check_stage
    from shared.settings import Settings

    problems = asyncio.run(check_stage(Settings(), args.stage))
    for problem in problems:
        print(f"wenming check {args.stage}: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _configure_logging() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wenming", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    data_dir = {
        "type": Path,
        "default": Path(".wenming"),
        "help": "state folder of `wenming up` (default .wenming)",
    }

    up = commands.add_parser("up", help="run all four stages on this machine (embedded servers if none set)")
    up.add_argument("--inbox", type=Path, help="folder to watch (default $WENMING_INBOX or ./inbox)")
    up.add_argument("--data-dir", **data_dir)  # type: ignore[arg-type]
    up.set_defaults(handler=_cmd_up)

    serve = commands.add_parser("serve", help="run one stage (for containers and scaling)")
    serve.add_argument("stage", choices=("ingest", "normalize", "extract", "store"))
    serve.add_argument("--inbox", type=Path)
    serve.set_defaults(handler=_cmd_serve)

    env = commands.add_parser(
        "env", help="print WENMING_REDIS_URL and WENMING_DATABASE_URL of the running pipeline"
    )
    env.add_argument("--data-dir", **data_dir)  # type: ignore[arg-type]
    env.set_defaults(handler=_cmd_env)

    lag = commands.add_parser("lag", help="stream lag per stage: is the pipeline healthy, stuck or behind?")
    lag.add_argument("--json", action="store_true", help="print a JSON array, one object per stage")
    lag.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    lag.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes with --watch")
    lag.add_argument("--data-dir", **data_dir)  # type: ignore[arg-type]
    lag.set_defaults(handler=_cmd_lag)

    check = commands.add_parser("check", help="health check for one stage: exit 0 when its servers answer")
    check.add_argument("stage", choices=("ingest", "normalize", "extract", "store"))
    check.set_defaults(handler=_cmd_check)

    extract = commands.add_parser("extract", help="print the figures in files, without Redis or Postgres")
    extract.add_argument("files", nargs="+", type=Path)
    extract.add_argument("--format", choices=("jsonl", "table", "csv"), default="table")
    extract.add_argument(
        "--resolve-relative-years",
        action="store_true",
        help="give 今年/去年 figures the year they mean, from the publication date (default: stated only)",
    )
    extract.set_defaults(handler=_cmd_extract)

    add_query_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        sys.exit(args.handler(args))
    except BrokenPipeError:  # `wenming extract ... | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


if __name__ == "__main__":
    main()
