"""drivers.class2 and the softmodem's Class 2 / 2.0 personalities against a real host program:
efax (Debian) in Class 2.0 (``-o0``) and Class 2 (``-o2``) on a pty softmodem pair, sending to and
receiving from faxpipe (Class 1, 2 and 2.0 ends). Pages compared pixel for pixel.

efax reverses the bit order of data received from a Class 2 modem unless told ``-or`` (it expects
what most SP-2388 modems do, fax-protocol.md §4.8): the pair serving efax as a Class 2 receiver is
started with the ``reverse_rx`` quirk, the Rockwell-like behaviour efax was written for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_peer_spandsp import make_page  # noqa: E402
from tools import require_tool  # noqa: E402

from drivers import class1  # noqa: E402
from drivers.at import ATChannel, Transcript, open_port  # noqa: E402
from drivers.class2 import Class2Modem  # noqa: E402
from faxpipe import codec, tiff  # noqa: E402
from faxpipe.t30.completion import Completion  # noqa: E402

from test_softmodem import serve_pair as softmodem_pair  # noqa: E402

pytestmark = pytest.mark.oracle
CALL_SECONDS = 60
SCALE = 4                     # efax paces its commands in real time (100 ms): faster lines break it


def serve_pair(*extra):
    """A pty softmodem pair at this module's line speed (tests/test_softmodem.py's helper)."""
    return softmodem_pair(SCALE, *extra)


def text(path) -> str:
    try:
        return path.read_text(errors="replace")[-4000:]
    except OSError:
        return ""


def faxpipe_receives(fax_class: str, device: str, log, out: dict) -> threading.Thread:
    def run():
        port = open_port(device, baudrate=115200)
        try:
            if fax_class == "1":
                channel = ATChannel(port, transcript=Transcript(log))
                out["rx"] = class1.Class1Modem(channel, ident="+1 555 0199").receive(rings=1, wait=CALL_SECONDS)
                channel.close(failed=not out["rx"].ok)
            else:
                modem = Class2Modem(port, fax_class=fax_class, ident="+1 555 0199", transcript=log)
                out["rx"] = modem.receive(wait=CALL_SECONDS)
                modem.close(failed=out["rx"].completion is not Completion.OK)
        finally:
            port.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize("efax_class, faxpipe_class", [("0", "1"), ("0", "2.0"), ("2", "2")],
                         ids=["efax2.0-to-class1", "efax2.0-to-class2.0", "efax2-to-class2"])
def test_efax_sends_to_faxpipe(tmp_path, efax_class, faxpipe_class):
    """efax drives one softmodem in Class 2 / 2.0; faxpipe answers on the other; the page arrives
    below the 20 blank rows efax adds, pixel for pixel."""
    efax = require_tool("efax")
    page = make_page(31, 120, yres=196.0)
    (tmp_path / "page.001").write_bytes(codec.encode(page, "mh"))   # efax's raw format: MH, MSB first
    out: dict = {}
    with serve_pair() as ((dev_a, _), (dev_b, num_b)):
        thread = faxpipe_receives(faxpipe_class, dev_b, tmp_path / "rx.log", out)
        time.sleep(0.5)
        run = subprocess.run([efax, "-d", dev_a, f"-o{efax_class}", "-l", "+1 555 0100", "-h", "", "-v", "ewinchrt",
                              "-t", num_b, "page.001"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=CALL_SECONDS)
        thread.join(CALL_SECONDS)
    log = run.stdout + run.stderr + "\n--- faxpipe:\n" + text(tmp_path / "rx.log")
    assert run.returncode == 0, log
    assert f"class {'2.0' if efax_class == '0' else '2'}" in log, log
    rx = out["rx"]
    assert rx.completion is Completion.OK and len(rx.received) == 1, log
    assert rx.remote_ident == "+1 555 0100", log
    got = rx.received[0]
    assert got.width == 1728 and got.height == page.height + 20, log
    assert not any(got.data[:20 * got.stride]) and got.data[20 * got.stride:] == page.data, log


@pytest.mark.parametrize("efax_class, faxpipe_class, quirks", [("0", "2.0", ""), ("2", "2", "reverse_rx"),
                                                              ("1", "2.0", "")],
                         ids=["class2.0-to-efax2.0", "class2-to-efax2", "class2.0-to-efax1"])
def test_faxpipe_sends_to_efax(tmp_path, efax_class, faxpipe_class, quirks):
    """faxpipe dials in Class 2 / 2.0; efax answers (auto-answer after one RING) and writes TIFFs."""
    efax = require_tool("efax")
    pages = [make_page(32, 100, yres=196.0), make_page(33, 80, yres=196.0)]
    efax_out = tmp_path / "efax.log"
    with serve_pair(*(["--quirks", quirks] if quirks else [])) as ((dev_a, _), (dev_b, num_b)), \
            open(efax_out, "w") as sink:
        receiver = subprocess.Popen([efax, "-d", dev_b, f"-o{efax_class}", "-w", "-iS0=1", "-l", "+1 555 0199",
                                     "-v", "ewinchrt", "-r", "rx"], cwd=tmp_path, stdout=sink,
                                    stderr=subprocess.STDOUT)
        try:
            ready = time.monotonic() + 30         # efax's set-up (100 ms a command) must be over before
            while "waiting for activity" not in text(efax_out) and time.monotonic() < ready:   # it rings
                time.sleep(0.1)
            port = open_port(dev_a, baudrate=115200)
            try:
                modem = Class2Modem(port, fax_class=faxpipe_class, ident="+1 555 0100", transcript=tmp_path / "tx.log")
                result = modem.send(num_b, pages)
                modem.close(failed=True)
            finally:
                port.close()
            receiver.wait(timeout=CALL_SECONDS)
        finally:
            receiver.kill()
    log = text(efax_out) + "\n--- faxpipe:\n" + text(tmp_path / "tx.log")
    assert result.completion is Completion.OK and result.confirmed == 2, log
    assert result.negotiated.coding == "mh", log        # efax does MH only
    assert receiver.returncode == 0, log
    for n, sent in enumerate(pages, 1):
        (got,) = tiff.read(tmp_path / f"rx.{n:03d}")
        assert got.bad_rows == 0 and got.page.data == sent.data and got.page.height == sent.height, log
