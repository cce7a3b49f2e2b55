"""The command line: parse arguments, call the library, map errors onto exit codes.

Exit codes: 0 success, 1 some inputs failed (batch), 2 usage error, 3 an input is invalid.
Each subcommand lives in its own module exposing ``add_parser(subparsers)`` and ``run(args)``.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..errors import FaxpipeError

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INVALID = 0, 1, 2, 3

EPILOG = "exit codes: 0 success, 1 some inputs failed, 2 usage error, 3 an input is invalid"


def build_parser() -> argparse.ArgumentParser:
    from . import admin, convert, demo, info, modem, preview, receive, send, serve, softmodem, worker

    parser = argparse.ArgumentParser(prog="faxpipe", description="Documents to fax pages, and faxes sent.", epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"faxpipe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (convert, demo, info, preview, admin, serve, worker, send, receive, softmodem, modem):
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # only a pass-through command (faxpipe softmodem) takes options it does not declare
        if not hasattr(args, "passthrough"):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.passthrough = [*args.passthrough, *extra]
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.run(args) or EXIT_OK
    except FaxpipeError as exc:
        print(f"faxpipe: {exc}", file=sys.stderr)
        return EXIT_INVALID
