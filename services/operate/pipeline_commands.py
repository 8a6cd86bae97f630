"""The commands that run and watch the pipeline: `wenming up`, `serve`, `env`, `lag`, `migrate` and
`check`. Each handler imports what it needs as it runs, so that the quick ones start fast."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from shared.streams import STAGES

if TYPE_CHECKING:
    from shared.settings import Settings


def add_pipeline_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    formatter_class: type[argparse.HelpFormatter],
) -> None:
    """Register `wenming up`, `serve`, `env`, `lag`, `migrate` and `check` on the `wenming` parser."""

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, description=summary, formatter_class=formatter_class)

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


def _cmd_serve(args: argparse.Namespace) -> int:
    import asyncio
    import importlib

    from shared.settings import SettingsError

    settings = load_settings("serve", inbox=args.inbox)
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

    settings = load_settings("up", inbox=args.inbox)
    _configure_logging(args.verbose)
    return run_pipeline(settings, data_dir=args.data_dir, verbose=args.verbose)


def _cmd_env(args: argparse.Namespace) -> int:
    from services.operate.instance import read_instance

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
                load_settings("lag"),
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

    settings = load_settings("check")
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

    settings = load_settings("migrate")
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


def load_settings(command: str, *, inbox: Path | None = None) -> Settings:
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
