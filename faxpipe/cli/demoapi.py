"""The first part of ``faxpipe demo``: ``faxpipe serve`` on the embedded default, the
specification's example request through a real multipart client, and the fax arriving at the far
end of the software modem pair (see :mod:`faxpipe.cli.demo`). Bounded in time, loopback only."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..errors import FaxpipeError

EXAMPLE_PATH = "/uapi/faxes/@me/0003*210"
EXAMPLE_FILE = ("/path/to/file/fax.txt", b"This is my fax")
EXAMPLE_REQUEST = {"recipients": ["7778888"]}
START_SECONDS = 60.0      # the server answering
DELIVERY_SECONDS = 120.0  # the fax delivered (a one-page call takes a few seconds at 20x)
FILING_SECONDS = 15.0     # the far end's files written after the call
REPO = Path(__file__).resolve().parents[2]


class DemoError(FaxpipeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_accounts(data: Path) -> str:
    """The organization, user, extension 0003*210 and token the example needs; returns the token."""
    from ..jobs.store import Store

    store = Store.open(data)
    try:
        a = store.accounts
        a.add_org("demo")
        a.add_user("alice", "demo")
        a.add_extension("0003*210", "alice")
        return a.create_token("alice")
    finally:
        store.close()


def start_server(data: Path, port: int, log: Path, extra: list[str] | None = None) -> subprocess.Popen:
    """``faxpipe serve`` in a subprocess (its own session), output to ``log``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    argv = [sys.executable, "-m", "faxpipe", "serve", "--data-dir", str(data), "--host", "127.0.0.1",
            "--port", str(port), *(extra or [])]
    with open(log, "wb") as f:
        return subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=str(REPO),
                                start_new_session=True)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)     # uvicorn's graceful shutdown; the worker stops too
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_ready(client, proc, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoError(f"faxpipe serve exited with status {proc.returncode}:\n{_tail(log)}")
        try:
            if client.get("/uapi/openapi.json").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise DemoError(f"faxpipe serve did not answer within {START_SECONDS:g} s:\n{_tail(log)}")


def follow(client, fax_id: str, headers: dict) -> dict:
    """GET the fax until every recipient is final; print each change of state."""
    deadline = time.monotonic() + DELIVERY_SECONDS
    seen = None
    start = time.monotonic()
    while time.monotonic() < deadline:
        fax = client.get(f"{EXAMPLE_PATH}/{fax_id}", headers=headers).json()
        [r] = fax["recipientStatus"]
        now = (fax["status"], r["status"], r["pagesSent"])
        if now != seen:
            seen = now
            print(f"  {time.monotonic() - start:5.1f} s  GET …/{fax_id}: fax {fax['status']}, recipient "
                  f"{r['number']} {r['status']}, pagesSent {r['pagesSent']}/{fax['pages']}"
                  + (f", attempts {r['attempts']}" if r["attempts"] else ""), flush=True)
        if fax["status"] in ("sent", "partially_sent", "failed", "canceled"):
            return fax
        time.sleep(0.1)
    raise DemoError(f"the fax was not delivered within {DELIVERY_SECONDS:g} s (last seen: {seen})")


def api_demo(out: Path) -> None:
    """Run the whole API part into ``out`` (``out/data`` is made afresh); raises on any failure."""
    import httpx

    from .. import tiff

    data = out / "data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    token = make_accounts(data)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = out / "serve.log"
    print(f"faxpipe serve --data-dir {data} --port {port}   (SQLite, the default software modem pair; "
          f"log: {log})")
    print(f"  admin: org demo, user alice, extension 0003*210 (owner alice), token {token[:6]}…")
    proc = start_server(data, port, log)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            wait_ready(client, proc, log)
            headers = {"Authorization": f"Bearer {token}"}
            print(f"POST {EXAMPLE_PATH} — the specification's example, as "
                  f"curl -H 'Authorization: Bearer …' -F 'files=@fax.txt;filename={EXAMPLE_FILE[0]}' "
                  f"-F 'request={json.dumps(EXAMPLE_REQUEST)}' {base}{EXAMPLE_PATH}")
            started = time.monotonic()
            r = client.post(EXAMPLE_PATH, headers=headers, files=[
                ("files", (EXAMPLE_FILE[0], EXAMPLE_FILE[1], "application/octet-stream")),
                ("request", (None, json.dumps(EXAMPLE_REQUEST).encode()))])
            print(f"  HTTP {r.status_code} {r.text}  ({(time.monotonic() - started) * 1000:.0f} ms)")
            if r.status_code != 200:
                raise DemoError(f"the example request was answered {r.status_code}: {r.text}")
            fax = follow(client, r.json()["id"], headers)
        if fax["status"] != "sent":
            raise DemoError(f"the fax ended {fax['status']}: {fax['recipientStatus']}; see {log} and "
                            f"{data / 'transcripts'}")
        received = _await_filed(data / "received")
    finally:
        stop_server(proc)
    from ..jobs.store import Store

    store = Store.open(data)
    try:
        document = store.fax(int(fax["id"]))["document"]
    finally:
        store.close()
    sent = [p.page for p in tiff.read(document)]
    got = [p.page for p in tiff.read(received)]
    if got != sent:
        raise FaxpipeError(f"{received} differs from the document the API stored ({document})")
    preview = received.with_suffix(".png")
    shutil.copyfile(preview, out / "received-preview.png")
    print(f"  the far end filed {received} — {len(got)} page(s), identical to the stored document pel for pel")
    print(f"  preview of what was received: {preview}  (copied to {out / 'received-preview.png'})")


def _await_filed(folder: Path) -> Path:
    deadline = time.monotonic() + FILING_SECONDS
    while time.monotonic() < deadline:
        done = sorted(p for p in folder.glob("*.tif") if p.with_suffix(".png").exists())
        if done:
            return done[-1]
        time.sleep(0.1)
    raise DemoError(f"the far end filed no fax in {folder} within {FILING_SECONDS:g} s")


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
