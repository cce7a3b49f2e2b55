"""The fax queue on both engines: submitting, claiming under leases, recording outcomes, retry
policy, one call per number, crashed workers, canceling, idempotency."""

from __future__ import annotations

import time

import pytest

from pg import pg_cluster, pg_url  # noqa: F401  (fixtures)

from faxpipe.jobs import CallOutcome, NewFax, PageResult, RetryPolicy, Store
from faxpipe.jobs.store import MAX_LOST
from faxpipe.t30.completion import Completion


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    s = Store.open(tmp_path, url)
    yield s
    s.close()


@pytest.fixture
def owner(store):
    a = store.accounts
    a.add_org("acme")
    user = a.add_user("alice", "acme")
    return user, a.add_extension("0003*210", "alice")


def submit(store, owner, numbers=("7778888",), pages=1, retry=RetryPolicy(3, 120.0), key=None, uid=None):
    user, ext = owner
    return store.submit(NewFax(user, ext, uid or time.time_ns().to_bytes(16, "big").hex(), pages,
                               "fine", "/nowhere.tif", tuple(numbers), retry, idempotency_key=key))


def ok(pages):
    return CallOutcome(Completion.OK, tuple(PageResult(n, True, "MCF") for n in range(1, pages + 1)))


def test_delivery_and_fax_status(store, owner):
    fax_id, uid, replayed = submit(store, owner, ("111", "222"), pages=2)
    assert not replayed and len(uid) == 32
    assert store.fax(fax_id)["status"] == "queued"
    a = store.claim("w1", "m1", 30)
    b = store.claim("w1", "m2", 30)
    assert {a.number, b.number} == {"111", "222"} and store.claim("w1", "m3", 30) is None
    assert store.fax(fax_id)["status"] == "sending"
    assert store.finish(a, ok(2), time.time(), "/t.log") == "delivered"
    assert store.finish(b, ok(2), time.time(), None) == "delivered"
    fax = store.fax(fax_id)
    assert fax["status"] == "sent"
    assert [(r["state"], r["attempts"], r["pages_sent"]) for r in fax["recipients"]] == [("delivered", 1, 2)] * 2
    [attempt] = store.attempts(a.recipient_id)
    assert attempt["delivered"] and [p["confirmed"] for p in attempt["page_results"]] == [1, 1]


def test_never_delivered_without_every_page_confirmed(store, owner):
    fax_id, _, _ = submit(store, owner, pages=3, retry=RetryPolicy(1, 0))
    claim = store.claim("w", "m", 30)
    # The driver claims success, but page 3 was never confirmed: not a delivery.
    outcome = CallOutcome(Completion.OK, (PageResult(1, True), PageResult(2, True), PageResult(3, False, "RTN")))
    assert store.finish(claim, outcome, time.time(), None) == "failed"
    fax = store.fax(fax_id)
    assert fax["status"] == "partially_sent"
    r = fax["recipients"][0]
    assert (r["pages_sent"], r["error_type"], r["error_code"]) == (2, "fax", "interrupted")


def test_retry_policy_busy_then_give_up(store, owner):
    fax_id, _, _ = submit(store, owner, retry=RetryPolicy(3, 120.0))
    now = time.time()
    for attempt in (1, 2):
        claim = store.claim("w", "m", 30, now=now)
        assert claim.attempt == attempt
        assert store.finish(claim, CallOutcome(Completion.BUSY, detail="BUSY"), now, None, now=now) == "will_retry"
        assert store.claim("w", "m", 30, now=now + 119) is None      # not before the delay
        now += 120
    claim = store.claim("w", "m", 30, now=now)
    assert store.finish(claim, CallOutcome(Completion.NO_ANSWER), now, None, now=now) == "failed"
    r = store.fax(fax_id)["recipients"][0]
    assert (r["attempts"], r["error_type"], r["error_code"], r["error_retryable"]) == (3, "line", "no_answer", 1)
    assert store.fax(fax_id)["status"] == "failed"


def test_not_retryable_fails_at_once(store, owner):
    submit(store, owner)
    claim = store.claim("w", "m", 30)
    assert store.finish(claim, CallOutcome(Completion.INCOMPATIBLE), time.time(), None) == "failed"


def test_one_call_per_number(store, owner):
    submit(store, owner, ("555",))
    submit(store, owner, ("555", "666"))
    first = store.claim("w", "m1", 30)
    second = store.claim("w", "m2", 30)
    assert (first.number, second.number) == ("555", "666")
    assert store.claim("w", "m3", 30) is None           # the other 555 waits for the line
    store.finish(first, ok(1), time.time(), None)
    assert store.claim("w", "m3", 30).number == "555"


def test_crashed_worker_is_retried_once_and_counted_once(store, owner):
    fax_id, _, _ = submit(store, owner)
    now = time.time()
    zombie = store.claim("dead", "m", 10, now=now)
    assert store.heartbeat(zombie, 10, now=now + 5)
    assert store.claim("alive", "m", 10, now=now + 14) is None      # the heartbeat kept it
    taken = store.claim("alive", "m", 10, now=now + 16)             # lease ran out: taken over
    assert taken.recipient_id == zombie.recipient_id and taken.lease_gen == zombie.lease_gen + 1
    assert taken.attempt == 1                                        # the lost call is not an attempt
    assert not store.heartbeat(zombie, 10, now=now + 16)
    assert store.finish(zombie, ok(1), now, None, now=now + 17) is None   # fenced off
    assert store.finish(taken, ok(1), now, None, now=now + 18) == "delivered"
    r = store.fax(fax_id)["recipients"][0]
    assert (r["state"], r["attempts"], r["lost"]) == ("delivered", 1, 1)
    assert [a["delivered"] for a in store.attempts(r["id"])] == [1]


def test_late_result_of_a_lost_lease_is_kept_when_nobody_took_over(store, owner):
    fax_id, _, _ = submit(store, owner, ("1",))
    submit(store, owner, ("2",))
    now = time.time()
    slow = store.claim("slow", "m", 10, now=now)
    assert store.claim("other", "m", 10, now=now + 11).number == "2"   # reaps "1" back to queued
    assert store.fax(fax_id)["recipients"][0]["state"] == "queued"
    assert store.finish(slow, ok(1), now, None, now=now + 12) == "delivered"
    assert store.claim("other", "m", 10, now=now + 13) is None


def test_worker_lost_too_often_fails(store, owner):
    fax_id, _, _ = submit(store, owner)
    now = time.time()
    for i in range(MAX_LOST):
        store.claim(f"w{i}", "m", 1, now=now + 2 * i)
    store.claim("last", "m", 1, now=now + 2 * MAX_LOST)
    r = store.fax(fax_id)["recipients"][0]
    assert (r["state"], r["error_code"], r["attempts"]) == ("failed", "worker_lost", 0)


def test_cancel(store, owner):
    fax_id, _, _ = submit(store, owner, ("1", "2", "3"))
    calling = store.claim("w", "m", 30)
    store.cancel(fax_id)
    assert store.claim("w", "m", 30) is None
    assert store.finish(calling, CallOutcome(Completion.BUSY), time.time(), None) == "canceled"
    assert store.fax(fax_id)["status"] == "canceled"


def test_cancel_does_not_undo_a_delivery(store, owner):
    fax_id, _, _ = submit(store, owner, ("1", "2"))
    calling = store.claim("w", "m", 30)
    store.cancel(fax_id)
    assert store.finish(calling, ok(1), time.time(), None) == "delivered"
    assert store.fax(fax_id)["status"] == "partially_sent"


def test_release_counts_no_attempt(store, owner):
    fax_id, _, _ = submit(store, owner)
    store.release(store.claim("w", "m", 30))
    r = store.fax(fax_id)["recipients"][0]
    assert (r["state"], r["attempts"]) == ("queued", 0)


def test_idempotency_key(store, owner):
    first = submit(store, owner, key="k1")
    again = submit(store, owner, key="k1")
    assert again == (first[0], first[1], True)
    assert store.counts() == {"queued": 1}
    assert store.idempotent(owner[0], "k1") == first[:2]
    assert store.idempotent(owner[0], "k1", now=time.time() + 25 * 3600) is None
    user, ext = owner
    later = store.submit(NewFax(user, ext, "f" * 32, 1, "fine", "/x.tif", ("1",), idempotency_key="k1"),
                         now=time.time() + 25 * 3600)
    assert later == (later[0], "f" * 32, False) and later[0] != first[0]   # kept 24 h only


def test_list_newest_first(store, owner):
    ids = [submit(store, owner)[0] for _ in range(5)]
    total, rows = store.faxes(owner[1], start=1, count=2)
    assert total == 5 and [r["id"] for r in rows] == ids[::-1][1:3]


def test_accounts_tokens(store):
    a = store.accounts
    a.add_org("acme")
    a.add_user("root", global_admin=True)
    token = a.create_token("root")
    assert a.authenticate(token).name == "root"
    assert a.authenticate(token + "x") is None
    expired = a.create_token("root", ttl=-1)
    assert a.authenticate(expired) is None
    with store.db.read() as tx:
        stored = [r["hash"] for r in tx.all("SELECT hash FROM tokens")]
    assert token not in stored and len(stored[0]) == 64


def test_sqlite_commits_are_durable(tmp_path):
    """A commit is on disk when it returns: WAL with synchronous=FULL (with NORMAL a power cut
    may take the last commits, and with them a fax already answered 200). PostgreSQL is durable
    by default (synchronous_commit on)."""
    s = Store.open(tmp_path)
    try:
        with s.db.read() as tx:
            assert tx.one("PRAGMA synchronous") == {"synchronous": 2}   # FULL
            assert tx.one("PRAGMA journal_mode") == {"journal_mode": "wal"}
    finally:
        s.close()
