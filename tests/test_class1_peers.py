"""drivers.class1 against real peers: efax (Debian) over a pty softmodem pair, and spandsp's T.31
modem with spandsp's T.30 terminal behind it (tests/peers). Pages compared pixel for pixel."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_peer_spandsp import make_page, modem_peer  # noqa: E402
from test_softmodem import serve_pair  # noqa: E402
from tools import require_tool  # noqa: E402

from drivers import class1  # noqa: E402
from drivers.at import ATChannel, Transcript, open_port  # noqa: E402
from faxpipe import codec, tiff  # noqa: E402
from faxpipe.fit import coding_order  # noqa: E402

pytestmark = pytest.mark.oracle
CALL_SECONDS = 60


def receive_on(device: str, log, out: dict, **options) -> threading.Thread:
    """faxpipe receives on ``device`` in a thread; the CallResult lands in ``out["rx"]``."""
    def run():
        port = open_port(device, baudrate=115200)
        channel = ATChannel(port, transcript=Transcript(log))
        try:
            out["rx"] = class1.Class1Modem(channel, ident="+1 555 0199", **options).receive(rings=1, wait=CALL_SECONDS)
        finally:
            channel.close(failed="rx" not in out or not out["rx"].ok)
            port.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def send_on(device: str, number: str, pages, log, **options):
    port = open_port(device, baudrate=115200)
    channel = ATChannel(port, transcript=Transcript(log))
    try:
        return class1.Class1Modem(channel, ident="+1 555 0100", **options).send(number, pages)
    finally:
        channel.close(failed=True)
        port.close()


def text(path) -> str:
    try:
        return path.read_text(errors="replace")[-4000:]
    except OSError:
        return ""


def test_efax_sends_to_faxpipe(tmp_path):
    """efax dials through one pty softmodem; faxpipe answers on the other and gets the page
    (below the 20 blank rows efax adds) pixel for pixel."""
    efax = require_tool("efax")
    page = make_page(11, 120, yres=196.0)
    (tmp_path / "page.001").write_bytes(codec.encode(page, "mh"))   # efax's raw format: MH, MSB first
    out: dict = {}
    with serve_pair(4) as ((dev_a, _), (dev_b, num_b)):
        thread = receive_on(dev_b, tmp_path / "rx.log", out)
        time.sleep(0.5)
        run = subprocess.run([efax, "-d", dev_a, "-o1", "-l", "+1 555 0100", "-h", "", "-v", "ewinchrt",
                              "-t", num_b, "page.001"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=CALL_SECONDS)
        thread.join(CALL_SECONDS)
    log = run.stdout + run.stderr + "\n--- faxpipe:\n" + text(tmp_path / "rx.log")
    assert run.returncode == 0 and "received MCF" in log, log
    rx = out["rx"]
    assert rx.ok and len(rx.received) == 1 and rx.remote_ident == "+1 555 0100", log
    got = rx.received[0]
    assert got.width == 1728 and got.height == page.height + 20
    assert not any(got.data[:20 * got.stride]) and got.data[20 * got.stride:] == page.data


def test_faxpipe_sends_to_efax(tmp_path):
    """faxpipe dials; efax answers (auto-answer after one RING) and writes what it received."""
    efax = require_tool("efax")
    pages = [make_page(12, 100, yres=196.0), make_page(13, 80, yres=196.0)]
    with serve_pair(4) as ((dev_a, _), (dev_b, num_b)):
        receiver = subprocess.Popen([efax, "-d", dev_b, "-o1", "-w", "-iS0=1", "-l", "+1 555 0199",
                                     "-v", "ewinchrt", "-r", "rx"], cwd=tmp_path, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(1.0)
            result = send_on(dev_a, num_b, pages, tmp_path / "tx.log")
            efax_log = receiver.communicate(timeout=CALL_SECONDS)[0]
        finally:
            receiver.kill()
    log = efax_log + "\n--- faxpipe:\n" + text(tmp_path / "tx.log")
    assert result.ok and result.confirmed_pages == 2, log
    assert result.negotiated[0].coding == "mh"          # efax does MH only
    assert receiver.returncode == 0, log
    for n, sent in enumerate(pages, 1):
        (got,) = tiff.read(tmp_path / f"rx.{n:03d}")
        assert got.bad_rows == 0 and got.page.data == sent.data and got.page.height == sent.height, log


def test_faxpipe_sends_to_spandsp(tmp_path):
    """faxpipe dials spandsp's T.31 modem (real V.17 modulation); spandsp's terminal receives."""
    peers = modem_peer()
    pages = [make_page(21, 96, yres=196.0), make_page(22, 64, yres=196.0)]
    received = tmp_path / "rx.tif"
    with peers.start_spandsp_modem("answer", receive=received, timeout=CALL_SECONDS, log_level=1) as modem:
        result = send_on(modem.pty, "123", pages, tmp_path / "tx.log")
        peer = modem.wait(timeout=CALL_SECONDS)
    log = f"{text(tmp_path / 'tx.log')}\npeer {peer.fields}\n{peer.log[-3000:]}"
    assert result.ok and result.confirmed_pages == 2, log
    fewest = [c for c in coding_order(pages) if c != "mmr"][0]   # no ECM at the peer: MR or MH, fewest bits
    assert peer.ok and peer.pages_rx == 2 and peer.rate == 14400 and peer.encoding == fewest, log
    assert peer.fields["remote_ident"].strip() == "+1 555 0100"   # our TSI, 20 characters
    got = [tp.page for tp in tiff.read(received)]
    assert [p.data for p in got] == [p.data for p in pages] and [p.height for p in got] == [96, 64]


def test_spandsp_sends_to_faxpipe(tmp_path):
    """spandsp's terminal calls (RING on the pty); faxpipe answers and receives two pages."""
    peers = modem_peer()
    pages = [make_page(23, 100, yres=196.0), make_page(24, 70, yres=196.0)]
    tx = tmp_path / "tx.tif"
    tiff.write(tx, pages, compression="g4")
    out: dict = {}
    with peers.start_spandsp_modem("call", send=tx, ident="+1 555 0123", timeout=CALL_SECONDS,
                                   log_level=1) as modem:
        thread = receive_on(modem.pty, tmp_path / "rx.log", out)
        thread.join(CALL_SECONDS)
        peer = modem.wait(timeout=CALL_SECONDS)
    log = f"{text(tmp_path / 'rx.log')}\npeer {peer.fields}\n{peer.log[-3000:]}"
    rx = out.get("rx")
    assert rx is not None and rx.ok, log
    assert peer.ok and peer.pages_tx == 2 and not peer.ecm, log
    assert rx.remote_ident == "+1 555 0123"
    assert rx.received == pages, log


def test_faxpipe_sends_to_spandsp_v29_with_xonxoff(tmp_path):
    """The terminal offers V.29 / V.27ter only and its modem paces us with XOFF / XON: 9600 bit/s,
    the page intact (host XON/XOFF on while we transmit, off while frames come back)."""
    peers = modem_peer()
    pages = [make_page(25, 200, yres=196.0)]
    received = tmp_path / "rx.tif"
    with peers.start_spandsp_modem("answer", receive=received, timeout=CALL_SECONDS, modems="v29,v27ter",
                                   xonxoff=True, log_level=1) as modem:
        result = send_on(modem.pty, "123", pages, tmp_path / "tx.log")
        peer = modem.wait(timeout=CALL_SECONDS)
    log = f"{text(tmp_path / 'tx.log')}\npeer {peer.fields}\n{peer.log[-3000:]}"
    assert result.ok and peer.ok and peer.rate == 9600, log
    assert [tp.page.data for tp in tiff.read(received)] == [pages[0].data]
