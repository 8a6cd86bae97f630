"""wenming: Chinese civilised-city reports in, a Postgres database of their figures out."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from services.operate.recovery import add_recovery_commands
from services.query.parsers import add_query_commands
from shared.streams import STAGES

if TYPE_CHECKING:  # the commands import what they need, so that the quick ones start fast
    from services.analysis import Analyzer
    from shared.settings import Settings

METRIC_COLUMNS = (
    "file",
    "value",
    "value_max",
    "unit_kind",
    "measure_word",
    "qualifier",
    "change",
    "indicator",
    "subject",
    "city",
    "place_code",
    "place_level",
    "place_basis",
    "year",
    "surface",
    "start",
    "end",
    "sentence",
)


def _cmd_extract(args: argparse.Namespace) -> int:
    from services.ingest.file_facts import read_file_facts
    from services.ingest.readers import UnreadableDocument

    analyzer: Analyzer | None = None
    status = 0
    read_any = False
    rows: list[dict[str, object]] = []
    progress = _Progress(len(args.files), sys.stderr)
    for path in args.files:
        progress.step(path.name)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            progress.note(f"wenming extract: {path}: {_unreadable(path, exc)}")
            status = 1
            continue
        if analyzer is None:  # built on the first readable file: loading the extractor takes seconds
            analyzer = _analyzer(args.resolve_relative_years)
        try:
            # What came with the file counts as it would in the inbox: its sidecar, its folder's place.
            analysis = analyzer.analyse_bytes(raw, path.name, read_file_facts(path))
        except UnreadableDocument as exc:
            progress.note(f"wenming extract: {path}: {exc}")
            status = 1
            continue
        read_any = True
        for metric in analysis.metrics:
            row: dict[str, object] = {"file": path.name, **metric.model_dump()}
            if args.format == "jsonl":
                print(json.dumps(row, ensure_ascii=False))
            else:
                rows.append(row)
    progress.close()
    if args.format == "csv" and read_any:
        writer = csv.DictWriter(sys.stdout, fieldnames=METRIC_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    elif args.format == "table" and rows:
        _print_table(rows)
    elif args.format == "table" and read_any:
        print("wenming extract: no figures found", file=sys.stderr)
    return status


def _analyzer(resolve_relative_years: bool) -> Analyzer:
    # Imported here: the extractor and the format libraries take seconds to load.
    from services.analysis import Analyzer

    return Analyzer(resolve_relative_years=resolve_relative_years)


def _unreadable(path: Path, error: OSError) -> str:
    """Why a file could not be opened, in words."""
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return f"is a folder; give the files in it, e.g. {shlex.quote(str(path))}/*.txt"
    if isinstance(error, PermissionError):
        return "not allowed to read it"
    return error.strerror or str(error)


class _Progress:
    """A one-line bar on stderr while several files are read, drawn only on a terminal."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.shown = total > 1 and stream.isatty()
        self.done = 0

    def step(self, name: str) -> None:
        self.done += 1
        if not self.shown:
            return
        width = 24
        filled = width * (self.done - 1) // self.total
        line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {name}"
        columns = shutil.get_terminal_size().columns
        self.stream.write("\r\033[K" + line[: columns - 1])
        self.stream.flush()

    def note(self, line: str) -> None:
        """A message that stays, printed above the bar."""
        if self.shown:
            self.stream.write("\r\033[K")
        print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _print_table(rows: list[dict[str, object]]) -> None:
    columns = (
        "file",
        "surface",
        "value",
        "value_max",
        "unit_kind",
        "qualifier",
        "change",
        "indicator",
        "city",
        "place_level",
        "place_basis",
        "year",
        "subject",
    )
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

    from shared.settings import SettingsError

    settings = _load_settings("serve", inbox=args.inbox)
    try:
        settings.require_redis_url()
        if args.stage == "store":
            settings.require_database_url()
    except SettingsError as exc:
        print(f"wenming serve {args.stage}: {exc}", file=sys.stderr)
        return 2
    app = importlib.import_module(f"services.{args.stage}.app").create_app(settings)
    _configure_logging(args.verbose, stage=args.stage)
    from services.operate.endpoint import EndpointError, serve_endpoint

    try:  # before anything else starts: a port taken ends the stage at once, in one line
        endpoint = serve_endpoint(app, settings, args.stage)
    except EndpointError as exc:
        print(f"wenming serve {args.stage}: {exc}", file=sys.stderr)
        return 1
    ready_fd: int | None = args.ready_fd

    @app.after_startup
    async def say_ready() -> None:
        if ready_fd is None:
            print(f"wenming serve {args.stage}: ready", flush=True)
        else:  # `wenming up` waits on this pipe to tell the person that the stage is up
            os.write(ready_fd, b"ready\n")
            os.close(ready_fd)

    try:
        asyncio.run(app.run())
    except _unreachable(args.stage) as exc:  # a server that does not answer: one line, the trace with -v
        if args.verbose:
            raise
        print(f"wenming serve {args.stage}: {_unreachable_reason(exc, settings)}", file=sys.stderr)
        return 1
    finally:
        if endpoint is not None:
            endpoint.close()
    return 0


def _unreachable(stage: str) -> tuple[type[Exception], ...]:
    """The errors that say a server does not answer, not that the stage is wrong."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    if stage != "store":
        return (RedisConnectionError, OSError)
    from sqlalchemy.exc import OperationalError

    return (RedisConnectionError, OSError, OperationalError)


def _unreachable_reason(error: BaseException, settings: Settings) -> str:
    """Why a server does not answer, in one line: Redis's failures explained, never its password."""
    from redis.exceptions import RedisError

    from shared.server_urls import first_line, redis_failure

    if isinstance(error, RedisError) and settings.redis_url:
        return redis_failure(error, redis_url=settings.redis_url)
    return first_line(error)


def _cmd_up(args: argparse.Namespace) -> int:
    from services.operate.supervisor import run_pipeline

    settings = _load_settings("up", inbox=args.inbox)
    _configure_logging(args.verbose)
    return run_pipeline(settings, data_dir=args.data_dir, verbose=args.verbose)


def _cmd_env(args: argparse.Namespace) -> int:
    from services.operate.supervisor import read_instance

    instance = read_instance(args.data_dir)
    if instance is None:
        print(
            f"wenming env: no running pipeline found in {args.data_dir} (start one with `wenming up`)",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(json.dumps(instance))
    else:  # for `eval "$(wenming env)"`: exported, so that programs started afterwards see them too
        for key, value in instance.items():
            print(f"export {key}={shlex.quote(value)}")
    return 0


def _cmd_lag(args: argparse.Namespace) -> int:
    import asyncio

    from services.operate.lag_view import show_lag

    try:
        return asyncio.run(
            show_lag(
                _load_settings("lag"),
                data_dir=args.data_dir,
                as_json=args.json,
                watch=args.watch,
                interval=args.interval,
            )
        )
    except KeyboardInterrupt:  # the way to leave --watch
        return 0


def _cmd_check(args: argparse.Namespace) -> int:
    """Container health check: the stage's servers answer, or with --endpoint the stage itself is healthy."""
    import asyncio

    from services.operate.health import check_endpoint, check_stage

    settings = _load_settings("check")
    if args.endpoint:
        problems = check_endpoint(settings, args.stage)
    else:
        problems = asyncio.run(check_stage(settings, args.stage))
    for problem in problems:
        print(f"wenming check {args.stage}: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    """Create the database if missing and bring it up to date, as its owner (a deployment's migration job)."""
    import asyncio

    from services.store.app import migrate_when_up
    from services.store.schema import NotOwner
    from shared.settings import SettingsError

    settings = _load_settings("migrate")
    try:
        revision = asyncio.run(migrate_when_up(settings, wait_s=args.wait))
    except SettingsError as exc:
        print(f"wenming migrate: {exc}", file=sys.stderr)
        return 2
    except (NotOwner, TimeoutError) as exc:
        print(f"wenming migrate: {exc}", file=sys.stderr)
        return 1
    print(f"wenming migrate: the database is up to date (migration {revision})", file=sys.stderr)
    return 0


def _load_settings(command: str, *, inbox: Path | None = None) -> Settings:
    """Settings from the environment; an unusable value ends the command with one line per variable."""
    from pydantic import ValidationError

    from shared.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            variable = "WENMING_" + "_".join(str(part) for part in error["loc"]).upper()
            print(f"wenming {command}: {variable}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
    return settings.model_copy(update={"inbox": inbox}) if inbox else settings


def _configure_logging(verbose: bool, *, stage: str | None = None) -> None:
    """Warnings and errors only, or everything with -v; plain lines, never colour codes. A stage names
    itself in every line: under `wenming up` four stages write to one terminal."""
    import logging

    who = f"{stage}: " if stage else ""
    if verbose:
        logging.basicConfig(
            level=logging.INFO, format=f"%(asctime)s {who}%(levelname)s %(name)s: %(message)s"
        )
    else:
        logging.basicConfig(level=logging.WARNING, format=f"{who}%(levelname)s %(name)s: %(message)s")
    # Alembic announces each of its plugins: noise even with -v.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # A server coming back is worth a line as much as its going away, quiet or not.
    logging.getLogger("shared.servers").setLevel(logging.INFO)
    # Libraries that print through handlers of their own (faststream's banners in colour, jieba's
    # dictionary loading) speak through ours instead, at our level.
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.handlers:
            logger.handlers.clear()
            logger.propagate = True
            logger.setLevel(logging.NOTSET)


class _HelpFormatter(argparse.HelpFormatter):
    """Shows an option's default where it has one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "%(default)" not in text
            and action.option_strings
            and action.default not in (None, False, argparse.SUPPRESS)
        ):
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wenming", description=__doc__, formatter_class=_HelpFormatter)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="`wenming COMMAND --help` tells more"
    )

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, description=summary, formatter_class=_HelpFormatter)

    def data_dir_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--data-dir",
            type=Path,
            default=Path(".wenming"),
            metavar="DIR",
            help="state folder of `wenming up`",
        )

    def stage_argument(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("stage", choices=STAGES, metavar="STAGE", help="one of: %(choices)s")

    def verbose_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "-v", "--verbose", action="store_true", help="log everything, with times (default: warnings only)"
        )

    up = command("up", "run all four stages on this machine, with embedded servers where none are set")
    up.add_argument(
        "--inbox", type=Path, metavar="DIR", help="folder to watch (default: $WENMING_INBOX, or ./inbox)"
    )
    data_dir_option(up)
    verbose_option(up)
    up.set_defaults(handler=_cmd_up)

    serve = command("serve", "run one stage on the servers that WENMING_* name (for containers and scaling)")
    stage_argument(serve)
    serve.add_argument(
        "--inbox", type=Path, metavar="DIR", help="folder the ingest stage watches (default: $WENMING_INBOX)"
    )
    serve.add_argument(
        "--ready-fd",
        type=int,
        metavar="FD",
        help="file descriptor to write 'ready' to once started, as `wenming up` does "
        "(default: print a line instead)",
    )
    verbose_option(serve)
    serve.set_defaults(handler=_cmd_serve)

    env = command("env", 'print the settings of the running pipeline, for eval "$(wenming env)"')
    env.add_argument("--json", action="store_true", help="print one JSON object instead of export lines")
    data_dir_option(env)
    env.set_defaults(handler=_cmd_env)

    lag = command("lag", "stream lag per stage: is the pipeline healthy, failing or falling behind?")
    lag.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: verdict, dead_letters, new_dead_letters and stages",
    )
    lag.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    lag.add_argument(
        "--interval",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="seconds between refreshes with --watch",
    )
    data_dir_option(lag)
    lag.set_defaults(handler=_cmd_lag)

    migrate = command(
        "migrate",
        "create the database if missing and bring its schema, catalog and regions up to date "
        "as the database's owner (what a store connected as the owner does as it starts; "
        "for a deployment's migration job)",
    )
    migrate.add_argument(
        "--wait", type=float, default=120.0, metavar="SECONDS", help="how long to wait for Postgres to answer"
    )
    migrate.set_defaults(handler=_cmd_migrate)

    check = command("check", "health check of one stage: exit status 0 when its servers answer")
    stage_argument(check)
    check.add_argument(
        "--endpoint",
        action="store_true",
        help="ask the running stage's own /health on WENMING_METRICS_PORT instead, which also says whether "
        "it makes progress",
    )
    check.set_defaults(handler=_cmd_check)

    extract = command("extract", "print the figures in files, without Redis or Postgres")
    extract.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="report files: .txt, .html, .docx or .pdf"
    )
    extract.add_argument(
        "--format",
        choices=("table", "jsonl", "csv"),
        default="table",
        help="a table to read, or JSON lines or CSV for other programs",
    )
    extract.add_argument(
        "--resolve-relative-years",
        action="store_true",
        help="give 今年/去年 figures the year they mean, from the publication date (default: stated only)",
    )
    extract.set_defaults(handler=_cmd_extract)

    add_query_commands(commands, _HelpFormatter)
    add_recovery_commands(commands, _HelpFormatter, _load_settings)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    handler: Any = args.handler
    try:
        sys.exit(handler(args))
    except KeyboardInterrupt:  # Ctrl-C: the person knows, a traceback would tell them nothing
        sys.exit(130)
    except BrokenPipeError:  # `wenming extract ... | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


if __name__ == "__main__":
    main()
