"""faxpipe.jobs: the durable fax queue and the modem workers (issue 7).

* :mod:`.db` — one database interface over SQLite (default) and PostgreSQL.
* :mod:`.schema` — the tables, the same on both engines.
* :mod:`.accounts` — organizations, users, extensions, hashed API tokens.
* :mod:`.store` — submitting faxes, reading them, claiming calls under leases, recording outcomes.
* :mod:`.status` — recipient and fax states.
* :mod:`.sender` — the seam to a modem driver (``CallOutcome``, ``Sender``, ``class1_send``).
* :mod:`.config` — the TOML configuration (modem pool, retry policy, API limits).
* :mod:`.worker` — the worker loop with lease heartbeats.
"""

from .accounts import Accounts, AccountError, Extension, User
from .config import ApiLimits, Config, ConfigError, ModemConfig, RetryPolicy
from .db import Database, DatabaseError
from .sender import CallOutcome, PageResult, Sender, class1_send
from .store import Claim, NewFax, Store
from .worker import Worker

__all__ = ["Accounts", "AccountError", "Extension", "User", "ApiLimits", "Config", "ConfigError",
           "ModemConfig", "RetryPolicy", "Database", "DatabaseError", "CallOutcome", "PageResult",
           "Sender", "class1_send", "Claim", "NewFax", "Store", "Worker"]
