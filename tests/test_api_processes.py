"""Conversion in worker processes (what ``faxpipe serve`` does): the fax is converted and stored
as in threads, a document's error crosses back to the client word for word, a worker that dies
is replaced without failing the request, and a pool that cannot convert answers the contract's
400 internal_server_error."""

from __future__ import annotations

import concurrent.futures
import os
import pickle
import signal
import time
from pathlib import Path

import httpx
import pytest

from faxpipe import tiff
from faxpipe.api import FaxApi
from faxpipe.api.problems import ApiError, not_queued
from faxpipe.jobs import Config, Store
from test_api import Server

LETTER = (Path(__file__).resolve().parent.parent / "fixtures" / "pages" / "letter.pdf").read_bytes()
PATH = "/uapi/faxes/@me/0003*210"


def _accounts(data: Path) -> tuple[Store, str]:
    store = Store.open(data)
    a = store.accounts
    a.add_org("acme")
    a.add_user("alice", "acme")
    a.add_extension("0003*210", "alice")
    return store, a.create_token("alice")


def _post(client, token, files):
    return client.post(PATH, headers={"Authorization": f"Bearer {token}"},
                       files=[("files", f) for f in files] + [("request", (None, '{"recipients": ["7778888"]}'))])


@pytest.fixture
def served(tmp_path):
    store, token = _accounts(tmp_path)
    app = FaxApi(store, tmp_path, Config(), processes=1)
    with Server(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        yield app, client, token, tmp_path
    store.close()


def test_converted_in_a_process_and_errors_come_back(served):
    app, client, token, data = served
    r = _post(client, token, [("letter.pdf", LETTER, "application/pdf")])
    assert r.status_code == 200, r.text
    pages = tiff.read(str(data / "faxes" / f"{r.json()['uid']}.tif"))
    assert [(p.page.width, p.page.height, p.compression) for p in pages] == [(1728, 2287, 4)]
    assert isinstance(app.service.converter, concurrent.futures.ProcessPoolExecutor)
    r = _post(client, token, [("broken.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 4, "application/pdf")])
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "fx_file_invalid"
    assert r.json()["error"]["message"].startswith("broken.pdf: a damaged PDF that cannot be repaired")


def test_a_worker_that_dies_is_replaced(served):
    app, client, token, _ = served
    assert _post(client, token, [("letter.pdf", LETTER, "application/pdf")]).status_code == 200
    before = app.service.converter
    for pid in list(before._processes):        # noqa: SLF001 - the workers of this pool
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    r = _post(client, token, [("letter.pdf", LETTER, "application/pdf")])
    assert r.status_code == 200, r.text
    assert app.service.converter is not before


class _Broken(concurrent.futures.Executor):
    def submit(self, fn, /, *args, **kwargs):
        raise concurrent.futures.process.BrokenProcessPool("a worker died")


def test_a_pool_that_cannot_convert_is_a_400(tmp_path):
    store, token = _accounts(tmp_path)
    app = FaxApi(store, tmp_path, Config(), converter=_Broken())
    with Server(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        r = _post(client, token, [("letter.pdf", LETTER, "application/pdf")])
    store.close()
    assert (r.status_code, r.json()) == (400, {"error": {
        "code": "internal_server_error",
        "message": "the document could not be converted: the conversion process stopped"}})
    assert list((tmp_path / "faxes").iterdir()) == []


def test_api_errors_cross_processes_whole():
    error = ApiError("method_not_allowed", "PUT is not allowed", 405, ((b"allow", b"GET"),))
    back = pickle.loads(pickle.dumps(error))
    assert (type(back), back.code, back.reason, back.status, back.headers) == \
        (ApiError, error.code, error.reason, error.status, error.headers)
    back = pickle.loads(pickle.dumps(not_queued("disk full")))
    assert (back.code, back.reason, back.status) == ("internal_server_error", "disk full", 400)


def test_a_conversion_process_ends_with_the_server():
    """Killed (SIGKILL) before it could stop its pool, the server leaves no worker behind."""
    import subprocess
    import sys

    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    watcher = subprocess.Popen([sys.executable, "-c", "import sys; from faxpipe.api.service import _outlive_not; "
                                "_outlive_not(int(sys.argv[1])); sys.exit(3)", str(server.pid)])
    try:
        time.sleep(0.5)
        assert watcher.poll() is None                 # the server lives: so does the worker
        server.kill()
        server.wait()
        assert watcher.wait(timeout=10) == 0          # ended by _outlive_not itself, not by returning
    finally:
        for p in (server, watcher):
            if p.poll() is None:
                p.kill()


def test_stale_temporaries_are_removed_at_start(tmp_path):
    """A conversion process killed between writing a document and renaming it leaves
    ``<uid>.tif.tmp<pid>``; the service removes such files when it starts, once they are an
    hour old (younger ones may belong to another server writing into the same directory)."""
    from faxpipe.api.service import STALE_SECONDS, remove_stale_temporaries

    documents = tmp_path / "faxes"
    documents.mkdir()
    old, young, fax = (documents / "a.tif.tmp123", documents / "b.tif.tmp456", documents / "c.tif")
    for path in (old, young, fax):
        path.write_bytes(b"II*\0")
    hour_ago = time.time() - STALE_SECONDS - 60
    os.utime(old, (hour_ago, hour_ago))
    os.utime(fax, (hour_ago, hour_ago))
    store = Store.open(tmp_path)
    try:
        FaxApi(store, tmp_path, Config())   # the service starts on the data directory
        assert sorted(p.name for p in documents.iterdir()) == ["b.tif.tmp456", "c.tif"]
    finally:
        store.close()
    assert remove_stale_temporaries(documents, now=time.time() + 2 * STALE_SECONDS) == 1
    assert sorted(p.name for p in documents.iterdir()) == ["c.tif"]
