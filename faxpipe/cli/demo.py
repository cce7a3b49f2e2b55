"""Placeholder for ``faxpipe demo`` (the lead owns this module; replace freely)."""


def add_parser(subparsers) -> None:
    subparsers.add_parser("demo", help="(not written yet)")


def run(args) -> int:
    return 0
