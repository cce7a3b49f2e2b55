"""Who is calling, on whose behalf, from which extension (api-contract.md "Authorization").

* ``Authorization: Bearer <token>`` or the ``accessRequestToken`` query parameter; none, unknown
  or expired: 401 ``access_denied``.
* ``userId``: ``@me`` / ``@viewer`` (the token's user), ``@owner`` (the extension's owner) or a
  numeric id; anything else, or an unknown id: 400 ``user_invalid``.
* ``extension``: ``*(DIGIT / "*")`` naming a known extension; ``@self``, malformed or unknown:
  400 ``extension_invalid``.
* The token's user T may act for user U from extension E when T is U or administers U (an admin
  of U's organization, or a global admin), and U owns E or T administers E's owner; else 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from ..jobs.accounts import EXTENSION_RE, Accounts, Extension, User
from .problems import ApiError, denied

SELF_ALIASES = ("@me", "@viewer")


@dataclass(frozen=True)
class Context:
    caller: User        # the token's user
    user: User          # on whose behalf
    extension: Extension


def token_of(headers: dict[bytes, bytes], query: bytes) -> str | None:
    value = headers.get(b"authorization")
    if value is not None:
        scheme, _, token = value.decode("latin-1").strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    tokens = parse_qs(query.decode("latin-1")).get("accessRequestToken")
    return tokens[0] if tokens else None


def authenticate(accounts: Accounts, token: str | None) -> User:
    if not token:
        raise denied("an access token is required (Authorization: Bearer TOKEN)", 401)
    user = accounts.authenticate(token)
    if user is None:
        raise denied("the access token is unknown or expired", 401)
    return user


def authorize(accounts: Accounts, caller: User, user_ref: str, number: str) -> Context:
    """Resolve ``userId`` and ``extension`` from the path and check the caller may use them."""
    if user_ref not in SELF_ALIASES + ("@owner",) and not (user_ref.isascii() and user_ref.isdigit()):
        raise ApiError("user_invalid", f"userId must be @me, @viewer, @owner or a numeric id, not {user_ref[:40]!r}")
    if number == "@self":
        raise ApiError("extension_invalid", "the extension cannot be @self")
    if not EXTENSION_RE.fullmatch(number) or len(number) > 40:
        raise ApiError("extension_invalid", f"{number[:40]!r} is not an extension number (digits and *)")
    extension = accounts.extension(number)
    if extension is None:
        raise ApiError("extension_invalid", f"there is no extension {number}")
    if user_ref in SELF_ALIASES:
        user = caller
    else:
        user = accounts.user(extension.owner_id if user_ref == "@owner" else int(user_ref))
        if user is None:
            raise ApiError("user_invalid", f"there is no user {user_ref}")
    if user.id != caller.id and not caller.administers(user):
        raise denied(f"user {caller.name} may not act on behalf of user {user.id}")
    if extension.owner_id != user.id:
        owner = accounts.user(extension.owner_id)
        if owner is None or not caller.administers(owner):
            raise denied(f"user {caller.name} may not use extension {number}")
    return Context(caller, user, extension)
