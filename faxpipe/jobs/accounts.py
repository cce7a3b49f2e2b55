"""Organizations, users, extensions and API tokens, in the job database.

A token is shown once, when it is created; only its SHA-256 is stored (tokens are 256 random
bits, so a fast hash is the right one: there is nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from ..errors import FaxpipeError
from .db import Database

TOKEN_PREFIX = "fxp_"
EXTENSION_RE = re.compile(r"[0-9*]+")


class AccountError(FaxpipeError):
    """An account operation that cannot be done (unknown organization, duplicate name…)."""

    code = "account_invalid"


@dataclass(frozen=True)
class User:
    id: int
    name: str
    org_id: int | None
    org_admin: bool
    global_admin: bool

    def administers(self, other: "User") -> bool:
        """A global admin administers everyone; an organization admin, their organization."""
        return self.global_admin or (self.org_admin and self.org_id is not None
                                     and self.org_id == other.org_id)


@dataclass(frozen=True)
class Extension:
    id: int
    number: str
    owner_id: int


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _user(row: dict | None) -> User | None:
    if row is None:
        return None
    return User(int(row["id"]), row["name"], row["org_id"] and int(row["org_id"]),
                bool(row["org_admin"]), bool(row["global_admin"]))


class Accounts:
    def __init__(self, db: Database):
        self.db = db

    def _insert(self, sql: str, params: tuple, what: str) -> int:
        try:
            with self.db.write() as tx:
                return int(tx.one(sql + " RETURNING id", params)["id"])
        except self.db.integrity_errors:
            raise AccountError(f"{what} already exists") from None

    def add_org(self, name: str) -> int:
        if not name.strip():
            raise AccountError("an organization needs a name")
        return self._insert("INSERT INTO orgs (name, created) VALUES (?, ?)", (name, time.time()),
                            f"organization {name!r}")

    def org_id(self, name: str) -> int:
        with self.db.read() as tx:
            row = tx.one("SELECT id FROM orgs WHERE name = ?", (name,))
        if row is None:
            raise AccountError(f"no organization named {name!r}")
        return int(row["id"])

    def add_user(self, name: str, org: str | None = None, *, admin: bool = False,
                 global_admin: bool = False) -> int:
        if not name.strip() or name.isdigit():
            raise AccountError(f"{name!r} cannot be a user name (empty or all digits)")
        if admin and org is None:
            raise AccountError("an organization admin needs --org")
        org_id = self.org_id(org) if org is not None else None
        return self._insert("INSERT INTO users (name, org_id, org_admin, global_admin, created) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (name, org_id, int(admin), int(global_admin), time.time()),
                            f"user {name!r}")

    def user(self, ref: "int | str") -> User | None:
        """A user by id (int or all-digit string) or by name."""
        with self.db.read() as tx:
            if isinstance(ref, int) or str(ref).isdigit():
                row = tx.one("SELECT * FROM users WHERE id = ?", (int(ref),))
            else:
                row = tx.one("SELECT * FROM users WHERE name = ?", (ref,))
        return _user(row)

    def add_extension(self, number: str, owner: "int | str") -> int:
        if not EXTENSION_RE.fullmatch(number):
            raise AccountError(f"{number!r} is not an extension number (digits and *)")
        user = self.user(owner)
        if user is None:
            raise AccountError(f"no user {owner!r}")
        return self._insert("INSERT INTO extensions (number, owner_id, created) VALUES (?, ?, ?)",
                            (number, user.id, time.time()), f"extension {number}")

    def extension(self, number: str) -> Extension | None:
        with self.db.read() as tx:
            row = tx.one("SELECT id, number, owner_id FROM extensions WHERE number = ?", (number,))
        return None if row is None else Extension(int(row["id"]), row["number"], int(row["owner_id"]))

    def create_token(self, user_ref: "int | str", ttl: float | None = None) -> str:
        """A new token for the user (returned once; only its hash is kept)."""
        user = self.user(user_ref)
        if user is None:
            raise AccountError(f"no user {user_ref!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = time.time()
        self._insert("INSERT INTO tokens (user_id, hash, created, expires) VALUES (?, ?, ?, ?)",
                     (user.id, hash_token(token), now, None if ttl is None else now + ttl), "token")
        return token

    def authenticate(self, token: str, now: float | None = None) -> User | None:
        """The token's user, or None for an unknown or expired token."""
        if not token or len(token) > 200:
            return None
        now = time.time() if now is None else now
        with self.db.read() as tx:
            row = tx.one("SELECT u.* FROM tokens t JOIN users u ON u.id = t.user_id "
                         "WHERE t.hash = ? AND (t.expires IS NULL OR t.expires > ?)",
                         (hash_token(token), now))
        return _user(row)
