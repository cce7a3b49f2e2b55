"""The worker over the fake sender: deliveries, retries, the missing driver, the TOML modem pool,
and worker processes that share a PostgreSQL queue or die with kill -9 in the middle of a call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fakesender import ScriptedSender
from pg import pg_cluster, pg_url  # noqa: F401  (fixtures)

from faxpipe.jobs import CallOutcome, Config, ConfigError, ModemConfig, NewFax, RetryPolicy, Store, Worker
from faxpipe.jobs import config as jobs_config
from faxpipe.jobs.sender import class1_send
from faxpipe.t30.completion import Completion

WORKER_MAIN = str(Path(__file__).with_name("worker_main.py"))
MODEM = ModemConfig("m1", "fake://1")


@pytest.fixture
def sqlite_store(tmp_path):
    s = Store.open(tmp_path)
    yield s
    s.close()


def _owner(store):
    a = store.accounts
    a.add_org("acme")
    user = a.add_user("alice", "acme")
    return user, a.add_extension("0003*210", "alice")


def _submit(store, owner, numbers, pages=1, retry=RetryPolicy(3, 0.0)):
    return store.submit(NewFax(owner[0], owner[1], os.urandom(16).hex(), pages, "fine", "/doc.tif",
                               tuple(numbers), retry))[0]


def _worker(store, tmp_path, sender, modems=(MODEM,)):
    return Worker(store, Config(modems=tuple(modems), lease=30), tmp_path, sender=sender, poll=0.01)


def test_delivers_and_writes_transcript(sqlite_store, tmp_path):
    owner = _owner(sqlite_store)
    fax_id = _submit(sqlite_store, owner, ["7778888"], pages=2)
    sender = ScriptedSender(pages=2)
    worker = _worker(sqlite_store, tmp_path, sender)
    assert worker.run_once(MODEM) and not worker.run_once(MODEM)
    r = sqlite_store.fax(fax_id)["recipients"][0]
    assert (r["state"], r["pages_sent"], r["remote_csid"]) == ("delivered", 2, "+1 555 0199")
    assert Path(r["transcript"]).read_text().startswith("fake call to 7778888")
    assert sender.calls == [("m1", "7778888", "/doc.tif")]


def test_busy_is_retried_then_delivered(sqlite_store, tmp_path):
    owner = _owner(sqlite_store)
    fax_id = _submit(sqlite_store, owner, ["555"])
    sender = ScriptedSender({"555": [Completion.BUSY, Completion.NO_ANSWER, Completion.OK]})
    worker = _worker(sqlite_store, tmp_path, sender)
    while worker.run_once(MODEM):
        pass
    r = sqlite_store.fax(fax_id)["recipients"][0]
    assert (r["state"], r["attempts"]) == ("delivered", 3)
    assert r["error_code"] is None
    assert [a["completion"] for a in sqlite_store.attempts(r["id"])] == ["BUSY", "NO_ANSWER", "OK"]


def test_dropped_call_after_some_pages_is_partially_sent(sqlite_store, tmp_path):
    from faxpipe.jobs import PageResult

    owner = _owner(sqlite_store)
    fax_id = _submit(sqlite_store, owner, ["1"], pages=3, retry=RetryPolicy(1, 0))
    dropped = CallOutcome(Completion.LINE_DROPPED, (PageResult(1, True), PageResult(2, True)), detail="NO CARRIER")
    _worker(sqlite_store, tmp_path, ScriptedSender({"1": [dropped]}, pages=3)).run_once(MODEM)
    fax = sqlite_store.fax(fax_id)
    assert fax["status"] == "partially_sent"
    r = fax["recipients"][0]
    assert (r["state"], r["pages_sent"], r["error_code"], r["error_detail"]) == ("failed", 2, "call_dropped", "NO CARRIER")


def test_sender_exception_counts_an_attempt_and_retries(sqlite_store, tmp_path):
    owner = _owner(sqlite_store)
    fax_id = _submit(sqlite_store, owner, ["9"])
    worker = _worker(sqlite_store, tmp_path, ScriptedSender({"9": [OSError("port vanished")]}))
    worker.run_once(MODEM)
    r = sqlite_store.fax(fax_id)["recipients"][0]
    assert (r["state"], r["attempts"], r["error_code"]) == ("will_retry", 1, "call_dropped")
    worker.run_once(MODEM)
    assert sqlite_store.fax(fax_id)["status"] == "sent"


def test_missing_driver_leaves_the_fax_queued(sqlite_store, tmp_path):
    owner = _owner(sqlite_store)
    fax_id = _submit(sqlite_store, owner, ["9"])
    with pytest.raises(NotImplementedError, match="no modem driver given"):
        _worker(sqlite_store, tmp_path, class1_send).run_once(MODEM)
    r = sqlite_store.fax(fax_id)["recipients"][0]
    assert (r["state"], r["attempts"]) == ("queued", 0)


def test_pool_threads_send_everything(sqlite_store, tmp_path):
    owner = _owner(sqlite_store)
    fax_ids = [_submit(sqlite_store, owner, [f"10{i}", f"20{i % 3}"]) for i in range(6)]
    sender = ScriptedSender(delay=0.01)
    worker = _worker(sqlite_store, tmp_path, sender, [ModemConfig(f"m{i}", f"fake://{i}") for i in range(3)])
    worker.start()
    deadline = time.time() + 20
    while time.time() < deadline and sqlite_store.counts() != {"delivered": 12}:
        time.sleep(0.05)
    worker.stop(timeout=5)
    assert sqlite_store.counts() == {"delivered": 12}
    assert all(sqlite_store.fax(f)["status"] == "sent" for f in fax_ids)
    assert sorted(n for _, n, _ in sender.calls) == sorted([f"10{i}" for i in range(6)] + [f"20{i % 3}" for i in range(6)])


def test_config_toml(tmp_path):
    path = tmp_path / "faxpipe.toml"
    path.write_text('[retry]\nmax_attempts = 5\ndelay = 30\n[worker]\nlease = 20\n[api]\nmax_files = 2\n'
                    '[[modem]]\nname = "line1"\ndevice = "/dev/ttyUSB0"\nclass = "1"\nstation_id = "+1 555 0100"\n'
                    'max_rate = 9600\necm = false\n'
                    '[[modem]]\ndevice = "softmodem://a"\nclass = "2.0"\n')
    config = jobs_config.load(str(path))
    assert config.modems == (ModemConfig("line1", "/dev/ttyUSB0", "1", "+1 555 0100", 9600, False),
                             ModemConfig("modem2", "softmodem://a", "2.0"))
    assert (config.retry, config.lease, config.limits.max_files) == (RetryPolicy(5, 30), 20.0, 2)
    for bad in ('[[modem]]\nname = "x"\n', '[[modem]]\ndevice = "d"\nmax_rate = 1\n', '[oops]\n',
                '[api]\nmax_files = 11\n', '[[modem]]\ndevice = "d"\nspeed = 3\n', 'not toml ['):
        path.write_text(bad)
        with pytest.raises(ConfigError):
            jobs_config.load(str(path))


# -- worker processes ------------------------------------------------------------------------

def _spawn(url, data_dir, log, *, delay=0.0, lease=30.0, modems=2):
    argv = [sys.executable, WORKER_MAIN, "--data-dir", str(data_dir), "--log", str(log),
            "--delay", str(delay), "--lease", str(lease), "--modems", str(modems)]
    if url:
        argv += ["--db", url]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


def _calls(log: Path) -> list[tuple[str, str, float]]:
    if not log.exists():
        return []
    return [(w, n, float(t)) for w, n, _, t in (line.split() for line in log.read_text().splitlines())]


def _wait(predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_two_worker_processes_share_a_postgresql_queue(pg_url, tmp_path):
    store = Store.open(tmp_path, pg_url)
    owner = _owner(store)
    numbers = [f"7{i:03d}" for i in range(30)] + ["5550000"] * 6   # 6 faxes to one busy number
    log = tmp_path / "calls.log"
    workers = [_spawn(pg_url, tmp_path, log, delay=0.03) for _ in range(2)]
    try:
        for number in numbers:    # both workers are polling: both must take part
            _submit(store, owner, [number])
        done = _wait(lambda: store.counts() == {"delivered": len(numbers)}, 60)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(10)
    store.close()
    assert done, store.counts()
    calls = _calls(log)
    starts = sorted(n for kind, n, _ in calls if kind == "start")
    assert starts == sorted(numbers)                   # none sent twice, none stranded
    assert len({pid for pid in (line.split()[2] for line in log.read_text().splitlines())}) == 2
    # never two calls to the same number at once
    open_calls: dict[str, int] = {}
    for kind, number, _ in sorted(calls, key=lambda c: (c[2], c[0] == "start")):
        open_calls[number] = open_calls.get(number, 0) + (1 if kind == "start" else -1)
        assert open_calls[number] <= 1, number


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_kill_9_mid_call_then_restart_delivers_once(engine, request, tmp_path):
    url = request.getfixturevalue("pg_url") if engine == "postgresql" else None
    store = Store.open(tmp_path, url)
    owner = _owner(store)
    fax_id = _submit(store, owner, ["7778888"])
    log = tmp_path / "calls.log"
    doomed = _spawn(url, tmp_path, log, delay=60, lease=1.0, modems=1)
    try:
        assert _wait(lambda: any(k == "start" for k, _, _ in _calls(log)), 20)
        os.kill(doomed.pid, signal.SIGKILL)
    finally:
        doomed.wait(10)
    assert store.fax(fax_id)["recipients"][0]["state"] == "dialing"
    survivor = _spawn(url, tmp_path, log, delay=0.0, lease=1.0, modems=1)
    try:
        assert _wait(lambda: store.counts() == {"delivered": 1}, 30), store.counts()
    finally:
        survivor.terminate()
        survivor.wait(10)
    r = store.fax(fax_id)["recipients"][0]
    assert (r["state"], r["attempts"], r["lost"]) == ("delivered", 1, 1)
    assert [a["delivered"] for a in store.attempts(r["id"])] == [1]     # exactly one delivery
    assert [k for k, _, _ in _calls(log)] == ["start", "start", "end"]
    store.close()


def test_retry_after_a_dropped_call_sends_only_the_pages_not_confirmed(sqlite_store, tmp_path):
    """Issue 6: a call cut after 2 of 3 confirmed pages is retried with page 3 alone, and the
    recipient is delivered once every page has been confirmed, by one call or the other."""
    from faxpipe.jobs import PageResult

    owner = _owner(sqlite_store)
    fax_id = _submit(sqlite_store, owner, ["1"], pages=3)
    calls = []

    def sender(modem, number, tiff_path, transcript_path, first_page=1, attempt=1):
        calls.append((first_page, attempt))
        open(transcript_path, "w").close()
        if attempt == 1:
            return CallOutcome(Completion.LINE_DROPPED, (PageResult(1, True), PageResult(2, True),
                                                         PageResult(3, False)), detail="NO CARRIER")
        return CallOutcome(Completion.OK, tuple(PageResult(n, True) for n in range(first_page, 4)))

    worker = _worker(sqlite_store, tmp_path, sender)
    while worker.run_once(MODEM):
        pass
    r = sqlite_store.fax(fax_id)["recipients"][0]
    assert calls == [(1, 1), (3, 2)]
    assert (r["state"], r["pages_sent"], r["attempts"]) == ("delivered", 3, 2)
    assert [a["pages_sent"] for a in sqlite_store.attempts(r["id"])] == [2, 1]


def test_a_retry_that_confirms_nothing_new_is_not_a_delivery(sqlite_store, tmp_path):
    """OK from the modem with a gap (page 3 unconfirmed) after a partial call: never delivered."""
    from faxpipe.jobs import PageResult

    owner = _owner(sqlite_store)
    fax_id = _submit(sqlite_store, owner, ["2"], pages=3, retry=RetryPolicy(2, 0.0))

    def sender(modem, number, tiff_path, transcript_path, first_page=1, attempt=1):
        open(transcript_path, "w").close()
        if attempt == 1:
            return CallOutcome(Completion.LINE_DROPPED, (PageResult(1, True),), detail="NO CARRIER")
        return CallOutcome(Completion.OK, (PageResult(2, True), PageResult(3, False)))

    worker = _worker(sqlite_store, tmp_path, sender)
    while worker.run_once(MODEM):
        pass
    r = sqlite_store.fax(fax_id)["recipients"][0]
    assert (r["state"], r["pages_sent"]) == ("failed", 2)
