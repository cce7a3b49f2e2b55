"""``faxpipe admin`` is scriptable: each command's last word is what a script needs, the token
works against the API, and mistakes exit non-zero with a reason."""

from __future__ import annotations

import subprocess
import sys

from faxpipe.jobs import Store


def faxpipe(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "faxpipe", *argv], capture_output=True, text=True, timeout=60)


def test_admin_commands(tmp_path):
    d = ["--data-dir", str(tmp_path)]
    assert faxpipe("admin", "org", "add", "acme", *d).stdout.split()[-1] == "1"
    assert faxpipe("admin", "user", "add", "alice", "--org", "acme", "--admin", *d).stdout.split()[-1] == "1"
    assert faxpipe("admin", "user", "add", "root", "--global-admin", *d).returncode == 0
    assert faxpipe("admin", "extension", "add", "0003*210", "--owner", "alice", *d).stdout.split()[-1] == "1"
    token = faxpipe("admin", "token", "create", "alice", *d).stdout.split()[-1]
    store = Store.open(tmp_path)
    try:
        user = store.accounts.authenticate(token)
        assert (user.name, user.org_admin, user.global_admin) == ("alice", True, False)
        assert store.accounts.user("root").global_admin
        assert store.accounts.extension("0003*210").owner_id == user.id
    finally:
        store.close()
    again = faxpipe("admin", "user", "add", "alice", *d)
    assert again.returncode == 3 and "already exists" in again.stderr
    bad = faxpipe("admin", "extension", "add", "12-3", "--owner", "alice", *d)
    assert bad.returncode == 3 and "not an extension number" in bad.stderr
    assert faxpipe("admin", "token", "create", "nobody", *d).returncode == 3


def test_serve_queues_and_the_worker_dials_through_the_class1_driver(tmp_path):
    import socket
    import time

    import httpx

    d = ["--data-dir", str(tmp_path)]
    faxpipe("admin", "org", "add", "acme", *d)
    faxpipe("admin", "user", "add", "alice", "--org", "acme", *d)
    faxpipe("admin", "extension", "add", "0003*210", "--owner", "alice", *d)
    token = faxpipe("admin", "token", "create", "alice", *d).stdout.split()[-1]
    config = tmp_path / "faxpipe.toml"
    config.write_text('[[modem]]\nname = "line1"\ndevice = "/dev/null"\n')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "faxpipe", "serve", *d, "--port", str(port),
                               "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}/uapi/faxes/@me/0003*210"
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.time() + 20
        while True:
            try:
                r = httpx.post(base, headers=headers, files=[("files", ("fax.txt", b"This is my fax")),
                                                             ("request", (None, b'{"recipients": ["7778888"]}'))])
                break
            except httpx.TransportError:
                assert time.time() < deadline, "faxpipe serve did not start"
                time.sleep(0.1)
        assert r.status_code == 200
        # the worker claims the fax and dials through the Class 1 driver; /dev/null is no modem,
        # so the attempt is counted and the call retried later, with nothing reported sent
        deadline = time.time() + 20
        while True:
            fax = httpx.get(f"{base}/{r.json()['id']}", headers=headers).json()
            status = fax["recipientStatus"][0]
            if status["attempts"] or time.time() > deadline:
                break
            time.sleep(0.2)
        assert status["status"] == "will_retry" and status["attempts"] == 1 and status["pagesSent"] == 0, status
        assert status["error"]["retryable"] and fax["status"] == "sending", fax
    finally:
        server.terminate()
        out = server.communicate(timeout=20)[0]
    assert "cannot open the modem '/dev/null'" in out
