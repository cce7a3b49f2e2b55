"""``faxpipe admin``: organizations, users, extensions and API tokens, scriptable.

Each command prints one line whose last word is the new thing's id (the token, for
``token create``: shown once, only its hash is stored)::

    faxpipe admin org add acme
    faxpipe admin user add alice --org acme [--admin] [--global-admin]
    faxpipe admin extension add 0003*210 --owner alice
    faxpipe admin token create alice [--days N]
"""

from __future__ import annotations

from . import dbargs


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("admin", help="manage organizations, users, extensions and API tokens",
                              description="Manage the accounts of the fax API.")
    kinds = p.add_subparsers(dest="kind", metavar="WHAT", required=True)

    org = kinds.add_parser("org", help="organizations").add_subparsers(dest="action", required=True)
    c = org.add_parser("add", help="add an organization")
    c.add_argument("name")
    c.set_defaults(run=_org_add)

    user = kinds.add_parser("user", help="users").add_subparsers(dest="action", required=True)
    c = user.add_parser("add", help="add a user")
    c.add_argument("name")
    c.add_argument("--org", help="the user's organization")
    c.add_argument("--admin", action="store_true", help="administrator of the organization")
    c.add_argument("--global-admin", action="store_true", help="administrator of every organization")
    c.set_defaults(run=_user_add)

    ext = kinds.add_parser("extension", help="extensions").add_subparsers(dest="action", required=True)
    c = ext.add_parser("add", help="add an extension")
    c.add_argument("number", help="extension number, digits and *, e.g. 0003*210")
    c.add_argument("--owner", required=True, help="the owning user (name or id)")
    c.set_defaults(run=_extension_add)

    tok = kinds.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
    c = tok.add_parser("create", help="create a token (printed once, as the last word)")
    c.add_argument("user", help="the token's user (name or id)")
    c.add_argument("--days", type=float, help="expire after this many days (default: never)")
    c.set_defaults(run=_token_create)

    for sub in (org, user, ext, tok):
        for action in sub.choices.values():
            dbargs.add(action)


def _with_accounts(args, fn) -> int:
    store = dbargs.open_store(args)
    try:
        print(fn(store.accounts))
    finally:
        store.close()
    return 0


def _org_add(args) -> int:
    return _with_accounts(args, lambda a: f"organization {args.name} id {a.add_org(args.name)}")


def _user_add(args) -> int:
    return _with_accounts(args, lambda a: f"user {args.name} id {a.add_user(args.name, args.org, admin=args.admin, global_admin=args.global_admin)}")


def _extension_add(args) -> int:
    return _with_accounts(args, lambda a: f"extension {args.number} id {a.add_extension(args.number, args.owner)}")


def _token_create(args) -> int:
    ttl = None if args.days is None else args.days * 86400
    return _with_accounts(args, lambda a: f"token for {args.user}: {a.create_token(args.user, ttl)}")
