"""``faxpipe serve`` on the embedded default: the software modem pair whose far end answers every
number and files what it receives; the ``transmitting`` state from the Class 1 driver's progress;
kill -9 of a server in the middle of a real (software modem) call, then a restart: the fax
completes, exactly one delivery is recorded (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pg import pg_cluster, pg_url  # noqa: F401  (fixtures)

from faxpipe import tiff
from faxpipe.cli import farend, serve
from faxpipe.cli.demoapi import free_port
from faxpipe.cli.worker import modem_sender
from faxpipe.jobs import Config, NewFax, RetryPolicy, Store, Worker
from faxpipe.jobs import config as jobs_config
from faxpipe.normalize import convert

REPO = Path(__file__).resolve().parents[1]


def _owner(store):
    a = store.accounts
    a.add_org("acme")
    user = a.add_user("alice", "acme")
    return user, a.add_extension("0003*210", "alice")


def _document(data: Path, text: bytes = b"This is my fax") -> tuple[str, list]:
    pages = list(convert([("fax.txt", text)], "fine").pages)
    path = data / "faxes" / f"{os.urandom(4).hex()}.tif"
    path.parent.mkdir(parents=True, exist_ok=True)
    tiff.write(path, pages, "g4")
    return str(path), pages


def _submit(store, owner, document, pages, numbers=("7778888",)):
    return store.submit(NewFax(owner[0], owner[1], os.urandom(16).hex(), pages, "fine", document,
                               tuple(numbers), RetryPolicy(3, 0.0)))[0]


def test_config_softmodem_section(tmp_path):
    assert Config().softmodem.rate_scale == 20.0
    path = tmp_path / "c.toml"
    path.write_text("[softmodem]\nrate_scale = 1\n")
    assert jobs_config.load(str(path)).softmodem.rate_scale == 1.0
    for bad in ("[softmodem]\nrate_scale = 0\n", "[softmodem]\nrate_scale = 'x'\n", "[softmodem]\nspeed = 2\n"):
        path.write_text(bad)
        with pytest.raises(jobs_config.ConfigError):
            jobs_config.load(str(path))


def test_exchange_routes_unknown_numbers_to_the_far_end():
    from drivers.at import open_port

    caller, answerer = farend.pair_urls(20.0)
    far = open_port(answerer)
    near = open_port(caller)
    try:
        exchange = near.modem.exchange
        assert exchange.route == farend.ANSWERER
        call = exchange.dial(near.modem, "7778888")
        assert call not in ("NO CARRIER", "BUSY") and call.callee is far.modem
        exchange.end(call, "test")
    finally:
        near.close()
        far.close()
    with pytest.raises(Exception, match="already routes"):
        from drivers.softmodem import Exchange

        name = f"route-{os.getpid()}"
        Exchange.named(name, route="200")
        Exchange.named(name, route="300")


def test_store_progress_under_the_lease(tmp_path):
    store = Store.open(tmp_path)
    owner = _owner(store)
    fax_id = _submit(store, owner, "/doc.tif", 3)
    claim = store.claim("w", "m", 30)
    assert store.progress(claim, "transmitting", 1)
    r = store.fax(fax_id)["recipients"][0]
    assert (r["state"], r["pages_sent"]) == ("transmitting", 1)
    assert store.progress(claim, "transmitting", 0)         # never goes back
    assert store.fax(fax_id)["recipients"][0]["pages_sent"] == 1
    stale = claim.__class__(**{**claim.__dict__, "lease_gen": claim.lease_gen - 1})
    assert not store.progress(stale, "transmitting", 2)     # a lost lease writes nothing
    with pytest.raises(ValueError):
        store.progress(claim, "delivered", 3)
    store.close()


def test_default_pair_delivers_and_files_the_fax(tmp_path):
    """The worker of `faxpipe serve` with no configuration: a real Class 1 call between two
    software modems; the recipient goes dialing → transmitting (pages confirmed) → delivered, and
    the far end files the fax (TIFF-F identical to the document, preview PNG, transcript)."""
    store = Store.open(tmp_path)
    owner = _owner(store)
    document, pages = _document(tmp_path, b"This is my fax\n" * 20)
    fax_id = _submit(store, owner, document, 1)
    config, far_end = serve.default_pair(Config(), tmp_path)
    seen = []
    progress = store.progress

    def spy(claim, state, sent, now=None):
        seen.append((state, sent, store.fax(fax_id)["recipients"][0]["state"]))
        return progress(claim, state, sent, now)

    store.progress = spy
    try:
        worker = Worker(store, config, tmp_path, sender=modem_sender(), poll=0.05)
        assert worker.run_once(config.modems[0])
        deadline = time.time() + 20
        while not far_end.received and time.time() < deadline:
            time.sleep(0.05)
    finally:
        far_end.stop()
        store.progress = progress
    r = store.fax(fax_id)["recipients"][0]
    assert (r["state"], r["pages_sent"], r["attempts"]) == ("delivered", 1, 1), r
    assert r["remote_csid"] == farend.IDENT
    assert seen[0][:2] == ("dialing", 0) and ("transmitting", 0) in [s[:2] for s in seen]
    assert seen[-1][:2] == ("transmitting", 1)
    [got] = far_end.received
    assert got.ok and got.pages == 1 and got.remote == "+1 555 0100"
    assert [p.page for p in tiff.read(got.tiff)] == pages
    assert got.preview.stat().st_size > 1000 and "ATA" in got.transcript.read_text()
    store.close()


# -- kill -9 in the middle of a real call ------------------------------------------------------

def _serve(data: Path, config: Path, url: str | None, log: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "faxpipe", "serve", "--data-dir", str(data), "--config", str(config),
            "--port", str(free_port())]
    if url:
        argv += ["--db", url]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    with open(log, "ab") as f:
        return subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=str(REPO))


def _wait(predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    return None


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_kill_9_mid_real_call_then_restart_delivers_once(engine, request, tmp_path):
    url = request.getfixturevalue("pg_url") if engine == "postgresql" else None
    store = Store.open(tmp_path, url)
    owner = _owner(store)
    document, pages = _document(tmp_path, b"This is my fax\n" * 40)
    fax_id = _submit(store, owner, document, 1)
    config = tmp_path / "faxpipe.toml"
    config.write_text("[worker]\nlease = 2\n[softmodem]\nrate_scale = 4\n")
    log = tmp_path / "serve.log"
    state = lambda: store.fax(fax_id)["recipients"][0]  # noqa: E731
    doomed = _serve(tmp_path, config, url, log)
    try:
        assert _wait(lambda: state()["state"] == "transmitting", 60), (state(), log.read_text())
        time.sleep(0.3)                      # page data on the line
        os.kill(doomed.pid, signal.SIGKILL)
    finally:
        if doomed.poll() is None:
            doomed.kill()
        doomed.wait(10)
    assert state()["state"] == "transmitting" and state()["attempts"] == 0
    received = tmp_path / "received"
    assert not list(received.glob("*.tif"))    # the far end died with the call
    survivor = _serve(tmp_path, config, url, log)
    try:
        assert _wait(lambda: state()["state"] == "delivered", 90), (state(), log.read_text()[-3000:])
        assert _wait(lambda: list(received.glob("*.png")), 20)
    finally:
        survivor.send_signal(signal.SIGINT)
        try:
            survivor.wait(20)
        except subprocess.TimeoutExpired:
            survivor.kill()
            survivor.wait(10)
    r = state()
    assert (r["state"], r["attempts"], r["lost"], r["pages_sent"]) == ("delivered", 1, 1, 1), \
        (store.attempts(r["id"]), log.read_text()[-4000:])
    attempts = store.attempts(r["id"])
    assert [(a["delivered"], a["completion"]) for a in attempts] == [(1, "OK")]   # exactly one delivery
    assert [p["confirmed"] for p in attempts[0]["page_results"]] == [1]
    assert store.fax(fax_id)["status"] == "sent"
    assert len(list((tmp_path / "transcripts").glob("*.log"))) == 2   # the cut call's transcript kept
    [tif] = received.glob("*.tif")
    assert [p.page for p in tiff.read(tif)] == pages                             # nothing lost
    store.close()
