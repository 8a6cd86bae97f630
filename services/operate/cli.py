"""wenming: Chinese civilised-city reports in, a Postgres database of their figures out."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from services.operate.extract_command import add_extract_command
from services.operate.pipeline_commands import add_pipeline_commands, load_settings
from services.operate.recovery import add_recovery_commands
from services.query.parsers import add_query_commands


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
    # `wenming --help` lists the commands in this order: running the pipeline, reading files, reading
    # the store, recovering from failures.
    add_pipeline_commands(commands, _HelpFormatter)
    add_extract_command(commands, _HelpFormatter)
    add_query_commands(commands, _HelpFormatter)
    add_recovery_commands(commands, _HelpFormatter, load_settings)
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
