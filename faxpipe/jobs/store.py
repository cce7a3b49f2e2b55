"""The durable fax queue: one schema, two engines (SQLite by default, PostgreSQL to share one
queue between several API and modem hosts).

Work is claimed one recipient at a time with a lease. On PostgreSQL the claim is a
``SELECT … FOR UPDATE SKIP LOCKED`` followed by the update, so workers on several hosts never
wait for each other; on SQLite the claim runs in a ``BEGIN IMMEDIATE`` transaction, which holds
the database's write lock, so it is just as atomic. A claim bumps the recipient's ``lease_gen``:
heartbeats extend the lease, and a result is recorded only under the generation it was claimed
with, so a worker that lost its lease cannot record a second delivery. A lease that runs out
(the worker crashed) puts the recipient back in the queue for another worker; the crashed call
is not counted as an attempt (``lost`` counts those; after ``MAX_LOST`` the recipient fails).
The partial unique index ``one_call_per_number`` keeps two calls to one number from overlapping.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from . import schema
from .accounts import Accounts
from .config import RetryPolicy
from .db import Database
from .sender import CallOutcome
from .status import CANCELED, DELIVERED, DIALING, FAILED, IN_CALL, QUEUED, TERMINAL, WAITING, WILL_RETRY, fax_status

MAX_LOST = 3                    # worker crashes one recipient survives before it fails
IDEMPOTENCY_SECONDS = 24 * 3600
CLAIM_TRIES = 5

_IN_CALL = "('dialing', 'transmitting')"
_WAITING = "('queued', 'will_retry')"
_TERMINAL = "('delivered', 'failed', 'canceled')"
assert IN_CALL == ("dialing", "transmitting") and WAITING == (QUEUED, WILL_RETRY)
assert TERMINAL == (DELIVERED, FAILED, CANCELED)


@dataclass(frozen=True)
class NewFax:
    user_id: int
    extension_id: int
    uid: str
    pages: int
    resolution: str
    document: str
    recipients: tuple[str, ...]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    header_text: str | None = None
    csid: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Claim:
    """One recipient held by one worker: what the call needs, and the lease that fences it."""

    recipient_id: int
    fax_id: int
    uid: str
    number: str
    document: str
    pages: int
    attempt: int
    lease_gen: int
    worker: str
    modem: str
    csid: str | None
    pages_sent: int = 0   # pages confirmed by earlier calls: a retry sends only the rest


class Store:
    def __init__(self, db: Database):
        self.db = db
        self.accounts = Accounts(db)
        schema.create(db)

    @classmethod
    def open(cls, data_dir: str | os.PathLike | None = None, url: str | None = None) -> "Store":
        return cls(Database.open(data_dir, url))

    def close(self) -> None:
        self.db.close()

    # -- submitting ------------------------------------------------------------------------

    def idempotent(self, user_id: int, key: str, now: float | None = None) -> tuple[int, str] | None:
        """The (fax id, uid) an earlier request with this key made within 24 h, if any."""
        now = time.time() if now is None else now
        with self.db.read() as tx:
            row = tx.one("SELECT f.id, f.uid FROM idempotency i JOIN faxes f ON f.id = i.fax_id "
                         "WHERE i.user_id = ? AND i.key = ? AND i.created > ?",
                         (user_id, key, now - IDEMPOTENCY_SECONDS))
        return None if row is None else (int(row["id"]), row["uid"])

    def submit(self, fax: NewFax, now: float | None = None) -> tuple[int, str, bool]:
        """Queue the fax for every recipient in one transaction. Returns (id, uid, replayed):
        ``replayed`` when the idempotency key was already used (nothing new is queued)."""
        now = time.time() if now is None else now
        try:
            with self.db.write() as tx:
                if fax.idempotency_key is not None:
                    tx.run("DELETE FROM idempotency WHERE user_id = ? AND key = ? AND created <= ?",
                           (fax.user_id, fax.idempotency_key, now - IDEMPOTENCY_SECONDS))
                fax_id = int(tx.one(
                    "INSERT INTO faxes (uid, user_id, extension_id, pages, resolution, header_text, "
                    "csid, document, max_attempts, retry_delay, created, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (fax.uid, fax.user_id, fax.extension_id, fax.pages, fax.resolution,
                     fax.header_text, fax.csid, fax.document, fax.retry.max_attempts,
                     fax.retry.delay, now, now))["id"])
                for position, number in enumerate(fax.recipients):
                    tx.run("INSERT INTO recipients (fax_id, position, number, state, next_attempt, "
                           "updated) VALUES (?, ?, ?, 'queued', ?, ?)",
                           (fax_id, position, number, now, now))
                if fax.idempotency_key is not None:
                    tx.run("INSERT INTO idempotency (user_id, key, created, fax_id) VALUES (?, ?, ?, ?)",
                           (fax.user_id, fax.idempotency_key, now, fax_id))
            return fax_id, fax.uid, False
        except self.db.integrity_errors:
            if fax.idempotency_key is None:
                raise
            earlier = self.idempotent(fax.user_id, fax.idempotency_key, now)
            if earlier is None:
                raise
            return earlier[0], earlier[1], True

    # -- reading ---------------------------------------------------------------------------

    def fax(self, fax_id: int) -> dict | None:
        """The fax row with ``status`` and ``recipients`` (rows in order)."""
        with self.db.read() as tx:
            row = tx.one("SELECT * FROM faxes WHERE id = ?", (fax_id,))
            if row is None:
                return None
            row["recipients"] = tx.all("SELECT * FROM recipients WHERE fax_id = ? ORDER BY position",
                                       (fax_id,))
        row["status"] = fax_status(row["recipients"])
        return row

    def faxes(self, extension_id: int, start: int = 0, count: int = 20) -> tuple[int, list[dict]]:
        """(total, faxes start..start+count) of one extension, newest first."""
        with self.db.read() as tx:
            total = int(tx.one("SELECT COUNT(*) AS n FROM faxes WHERE extension_id = ?",
                               (extension_id,))["n"])
            rows = tx.all("SELECT * FROM faxes WHERE extension_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
                          (extension_id, count, start))
            for row in rows:
                row["recipients"] = tx.all("SELECT * FROM recipients WHERE fax_id = ? ORDER BY position",
                                           (row["id"],))
                row["status"] = fax_status(row["recipients"])
        return total, rows

    def attempts(self, recipient_id: int) -> list[dict]:
        """Every recorded call to one recipient, with its per-page results."""
        with self.db.read() as tx:
            rows = tx.all("SELECT * FROM attempts WHERE recipient_id = ? ORDER BY attempt", (recipient_id,))
            for row in rows:
                row["page_results"] = tx.all("SELECT page, confirmed, result FROM page_results "
                                             "WHERE attempt_id = ? ORDER BY page", (row["id"],))
        return rows

    def counts(self) -> dict[str, int]:
        """Recipients per state (for tests and monitoring)."""
        with self.db.read() as tx:
            rows = tx.all("SELECT state, COUNT(*) AS n FROM recipients GROUP BY state")
        return {r["state"]: int(r["n"]) for r in rows}

    # -- canceling -------------------------------------------------------------------------

    def cancel(self, fax_id: int, now: float | None = None) -> None:
        """Cancel what has not been sent: waiting recipients now, a call in progress when it
        ends (unless it delivers)."""
        now = time.time() if now is None else now
        with self.db.write() as tx:
            tx.run(f"UPDATE recipients SET state = 'canceled', updated = ? "
                   f"WHERE fax_id = ? AND state IN {_WAITING}", (now, fax_id))
            tx.run(f"UPDATE recipients SET cancel_requested = 1, updated = ? "
                   f"WHERE fax_id = ? AND state IN {_IN_CALL}", (now, fax_id))

    # -- the queue -------------------------------------------------------------------------

    def _reap(self, tx, now: float) -> None:
        """Requeue recipients whose worker's lease ran out (the worker died mid-call)."""
        for row in tx.all(f"SELECT id, lease_gen, lost, cancel_requested FROM recipients "
                          f"WHERE state IN {_IN_CALL} AND lease_expires < ?{{skip_locked}}", (now,)):
            lost = row["lost"] + 1
            if row["cancel_requested"]:
                state, error = CANCELED, (None, None, None, None)
            elif lost >= MAX_LOST:
                state, error = FAILED, ("internal", "worker_lost", 0,
                                        f"the worker holding this call stopped {lost} times")
            else:
                state, error = QUEUED, (None, None, None, None)
            tx.run("UPDATE recipients SET state = ?, lost = ?, lease_owner = NULL, lease_expires = NULL, "
                   "next_attempt = ?, error_type = COALESCE(?, error_type), "
                   "error_code = COALESCE(?, error_code), error_retryable = COALESCE(?, error_retryable), "
                   "error_detail = COALESCE(?, error_detail), updated = ? WHERE id = ? AND lease_gen = ?",
                   (state, lost, now, *error, now, row["id"], row["lease_gen"]))

    def claim(self, worker: str, modem: str, lease: float, now: float | None = None) -> Claim | None:
        """Take the next due recipient whose number is not in a call; None when there is none."""
        for _ in range(CLAIM_TRIES):
            now = time.time() if now is None else now
            try:
                with self.db.write() as tx:
                    self._reap(tx, now)
                    row = tx.one(
                        f"SELECT r.id FROM recipients r WHERE r.state IN {_WAITING} "
                        f"AND r.next_attempt <= ? AND NOT EXISTS (SELECT 1 FROM recipients b "
                        f"WHERE b.number = r.number AND b.state IN {_IN_CALL}) "
                        f"ORDER BY r.next_attempt, r.id LIMIT 1{{skip_locked}}", (now,))
                    if row is None:
                        return None
                    got = tx.one(
                        "UPDATE recipients SET state = ?, lease_owner = ?, lease_expires = ?, "
                        "lease_gen = lease_gen + 1, updated = ? WHERE id = ? "
                        "RETURNING id, fax_id, number, attempts, lease_gen, pages_sent",
                        (DIALING, worker, now + lease, now, row["id"]))
                    fax = tx.one("SELECT uid, document, pages, csid FROM faxes WHERE id = ?",
                                 (got["fax_id"],))
                return Claim(int(got["id"]), int(got["fax_id"]), fax["uid"], got["number"],
                             fax["document"], int(fax["pages"]), int(got["attempts"]) + 1,
                             int(got["lease_gen"]), worker, modem, fax["csid"], int(got["pages_sent"]))
            except self.db.integrity_errors:
                continue   # another host dialled the same number in the same instant
        return None

    def heartbeat(self, claim: Claim, lease: float, now: float | None = None) -> bool:
        """Extend the lease; False if it was lost (the call's result will not be recorded)."""
        now = time.time() if now is None else now
        with self.db.write() as tx:
            return tx.run(f"UPDATE recipients SET lease_expires = ? WHERE id = ? AND lease_gen = ? "
                          f"AND state IN {_IN_CALL}", (now + lease, claim.recipient_id, claim.lease_gen)) == 1

    def progress(self, claim: Claim, state: str, pages_sent: int, now: float | None = None) -> bool:
        """Record how a call under ``claim`` goes: ``dialing`` or ``transmitting`` and the pages
        confirmed so far. False if the lease was lost (nothing is written then)."""
        if state not in IN_CALL:
            raise ValueError(f"a call in progress is dialing or transmitting, not {state!r}")
        now = time.time() if now is None else now
        with self.db.write() as tx:
            return tx.run(f"UPDATE recipients SET state = ?, pages_sent = CASE WHEN pages_sent > ? "
                          f"THEN pages_sent ELSE ? END, updated = ? WHERE id = ? AND lease_gen = ? "
                          f"AND state IN {_IN_CALL}",
                          (state, pages_sent, pages_sent, now, claim.recipient_id, claim.lease_gen)) == 1

    def release(self, claim: Claim, delay: float = 0.0, now: float | None = None) -> None:
        """Give a claimed recipient back untouched (no call was made)."""
        now = time.time() if now is None else now
        with self.db.write() as tx:
            tx.run(f"UPDATE recipients SET state = CASE WHEN cancel_requested = 1 THEN 'canceled' "
                   f"ELSE 'queued' END, lease_owner = NULL, lease_expires = NULL, next_attempt = ?, "
                   f"updated = ? WHERE id = ? AND lease_gen = ? AND state IN {_IN_CALL}",
                   (now + delay, now, claim.recipient_id, claim.lease_gen))

    def finish(self, claim: Claim, outcome: CallOutcome, started: float, transcript: str | None,
               now: float | None = None) -> str | None:
        """Record one call under its lease; returns the recipient's new state, or None when the
        lease was taken over by another worker (the outcome is then discarded)."""
        now = time.time() if now is None else now
        with self.db.write() as tx:
            row = tx.one(f"SELECT r.attempts, r.pages_sent, r.cancel_requested, f.max_attempts, "
                         f"f.retry_delay, f.pages FROM recipients r JOIN faxes f ON f.id = r.fax_id "
                         f"WHERE r.id = ? AND r.lease_gen = ? AND r.state NOT IN {_TERMINAL}{{for_update}}",
                         (claim.recipient_id, claim.lease_gen))
            if row is None:
                return None
            pages, already = int(row["pages"]), int(row["pages_sent"])
            delivered = outcome.delivered(pages, already)
            error = outcome.error(pages, already)
            confirmed = already + outcome.confirmed_from(already + 1)
            attempts = int(row["attempts"]) + 1
            if delivered:
                state = DELIVERED
            elif row["cancel_requested"]:
                state = CANCELED
            elif error.retryable and attempts < int(row["max_attempts"]):
                state = WILL_RETRY
            else:
                state = FAILED
            attempt_id = tx.one(
                "INSERT INTO attempts (recipient_id, attempt, lease_gen, worker, modem, started, ended, "
                "completion, delivered, error_code, pages_sent, remote_csid, transcript) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (claim.recipient_id, attempts, claim.lease_gen, claim.worker, claim.modem, started, now,
                 outcome.completion.name, int(delivered), error and error.code, confirmed - already,
                 outcome.remote_csid, transcript))["id"]
            for page in outcome.pages:
                tx.run("INSERT INTO page_results (attempt_id, page, confirmed, result) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (attempt_id, page) DO NOTHING",
                       (attempt_id, page.page, int(page.confirmed), page.result))
            next_attempt = now + float(row["retry_delay"]) if state == WILL_RETRY else now
            tx.run("UPDATE recipients SET state = ?, attempts = ?, pages_sent = ?, remote_csid = "
                   "COALESCE(?, remote_csid), error_type = ?, error_code = ?, error_retryable = ?, "
                   "error_detail = ?, transcript = COALESCE(?, transcript), next_attempt = ?, "
                   "lease_owner = NULL, lease_expires = NULL, updated = ? WHERE id = ?",
                   (state, attempts, confirmed, outcome.remote_csid,
                    error and error.type, error and error.code,
                    None if error is None else int(error.retryable),
                    None if error is None else (outcome.detail or outcome.completion.value),
                    transcript, next_attempt, now, claim.recipient_id))
        return state
