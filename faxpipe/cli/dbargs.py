"""``--data-dir DIR`` / ``--db URL``: where the job database (and the fax files) live."""

from __future__ import annotations

DEFAULT_DATA_DIR = "faxpipe-data"


def add(parser) -> None:
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR, metavar="DIR",
                        help=f"data directory: SQLite database, fax files, transcripts (default: ./{DEFAULT_DATA_DIR})")
    parser.add_argument("--db", metavar="URL", help="PostgreSQL URL (postgresql://…) instead of SQLite")


def open_store(args):
    from ..jobs.store import Store

    return Store.open(args.data_dir, args.db)
