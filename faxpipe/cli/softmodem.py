"""``faxpipe softmodem --pair``: software Class 1 fax modems on pseudo-terminals (drivers.softmodem).

Every option goes to ``python -m drivers.softmodem`` unchanged (``faxpipe softmodem --help`` lists them).
"""

from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "softmodem", help="serve software fax modems on pseudo-terminals (--pair, --help for options)",
        add_help=False, description="Serve software Class 1 fax modems on pseudo-terminals.")
    p.set_defaults(run=run, passthrough=[])


def run(args) -> int:
    from drivers.softmodem.__main__ import main

    return main(args.passthrough)
