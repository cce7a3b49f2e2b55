"""One database interface over two engines: SQLite (a file in the data directory, WAL) and
PostgreSQL (psycopg 3).

SQL is written once, with ``?`` placeholders and two markers the engine fills in:
``{skip_locked}`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, nothing on SQLite, whose write
transactions are already exclusive) and ``{for_update}``. Each thread gets its own connection;
:meth:`Database.write` opens a transaction that holds the write lock on SQLite
(``BEGIN IMMEDIATE``), so a claim made inside it is atomic on both engines.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

from ..errors import FaxpipeError

SQLITE_NAME = "faxpipe.sqlite3"


class DatabaseError(FaxpipeError):
    """The job database cannot be opened or used."""


class Tx:
    """A transaction: ``one`` / ``all`` / ``run`` with rows as dicts."""

    def __init__(self, db: "Database", conn):
        self._db, self._conn = db, conn

    def _cursor(self, sql: str, params=()):
        return self._conn.execute(self._db.sql(sql), tuple(params))

    def one(self, sql: str, params=()) -> dict | None:
        row = self._cursor(sql, params).fetchone()
        return None if row is None else dict(row)

    def all(self, sql: str, params=()) -> list[dict]:
        return [dict(r) for r in self._cursor(sql, params).fetchall()]

    def run(self, sql: str, params=()) -> int:
        """Execute a statement; return the number of rows it changed."""
        return self._cursor(sql, params).rowcount

    def script(self, statements: list[str]) -> None:
        for statement in statements:
            self._conn.execute(self._db.sql(statement))


class Database:
    """Connections to one job database; ``url`` is ``sqlite:///path`` or ``postgresql://…``."""

    def __init__(self, url: str):
        self.url = url
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        if not self.postgres and not url.startswith("sqlite:///"):
            raise DatabaseError(f"unknown database URL {url!r}: use sqlite:///PATH or postgresql://…")
        self._local = threading.local()
        self._all: list = []
        self._lock = threading.Lock()
        if self.postgres:
            import psycopg

            self.integrity_errors: tuple = (psycopg.IntegrityError,)
            self._operational: tuple = (psycopg.OperationalError, psycopg.InterfaceError)
        else:
            self.path = Path(url[len("sqlite:///"):])
            self.integrity_errors = (sqlite3.IntegrityError,)
            self._operational = ()

    @classmethod
    def open(cls, data_dir: str | os.PathLike | None = None, url: str | None = None) -> "Database":
        """``url`` if given, else the SQLite file in ``data_dir`` (created if needed)."""
        if url:
            return cls(url)
        directory = Path(data_dir or "faxpipe-data")
        directory.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{(directory / SQLITE_NAME).resolve()}")

    def sql(self, text: str) -> str:
        if self.postgres:
            return (text.replace("{skip_locked}", " FOR UPDATE SKIP LOCKED")
                    .replace("{for_update}", " FOR UPDATE").replace("?", "%s"))
        return text.replace("{skip_locked}", "").replace("{for_update}", "")

    def _connect(self):
        try:
            if self.postgres:
                import psycopg
                from psycopg.rows import dict_row

                conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row)
            else:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                # FULL: a commit is on disk when it returns (in WAL, NORMAL may lose the last
                # commits to a power cut), so a fax answered 200 or a page recorded as confirmed
                # survives one.
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA foreign_keys=ON")
        except Exception as exc:  # sqlite3.Error, psycopg.Error: say which database
            raise DatabaseError(f"cannot open the job database {self.redacted()}: {exc}") from None
        with self._lock:
            self._all.append(conn)
        return conn

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or (self.postgres and conn.closed):
            conn = self._local.conn = self._connect()
        return conn

    def write(self):
        """A read-write transaction (exclusive on SQLite: it takes the write lock at once)."""
        return self._transaction("BEGIN IMMEDIATE")

    def read(self):
        """A read-only transaction (a consistent snapshot on both engines)."""
        return self._transaction("BEGIN")

    @contextlib.contextmanager
    def _transaction(self, begin: str):
        conn = self._conn()
        try:
            if self.postgres:
                with conn.transaction():
                    yield Tx(self, conn)
            else:
                conn.execute(begin)
                try:
                    yield Tx(self, conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except self._operational:
            self._drop(conn)
            raise

    def _drop(self, conn) -> None:
        self._local.conn = None
        with contextlib.suppress(Exception):
            conn.close()

    def redacted(self) -> str:
        if not self.postgres:
            return str(self.path)
        head, _, tail = self.url.partition("@")
        return self.url if not tail else head.split("://")[0] + "://…@" + tail

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()
