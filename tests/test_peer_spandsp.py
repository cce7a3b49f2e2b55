"""Real peer: spandsp's T.31 Class 1 modem on a pseudo-terminal, spandsp's T.30 terminal behind it.

``tests/peers/spandsp_modem.c`` opens a pty, runs spandsp's T.31 modem on it (real V.21 /
V.27ter / V.29 / V.17 modulation) and wires the modem's audio back to back with spandsp's fax
terminal, which is the far end of the call. These tests prove the peer with a DTE that already
exists, efax (Debian ``efax``), in both directions; faxpipe's Class 1 driver uses it the same way.

How a Class 1 driver test uses it
---------------------------------
::

    from peers import start_spandsp_modem          # tests/ is on sys.path under pytest

    # faxpipe sends: the terminal answers a call and receives
    with start_spandsp_modem("answer", receive=tmp_path / "rx.tif", timeout=60) as modem:
        outcome = class1_send(device=modem.pty, number="123", pages=pages)   # your driver: ATD..., ATH0
        result = modem.wait(timeout=30)
    assert result.ok and result.pages_rx == len(pages)
    received = faxpipe.tiff.read(tmp_path / "rx.tif")           # compare pixel for pixel

    # faxpipe receives: the terminal calls (RING on the pty) and sends
    with start_spandsp_modem("call", send=tmp_path / "tx.tif", ecm=True) as modem:
        class1_receive(device=modem.pty, rings=1, out_dir=tmp_path)          # ATA..., ATH0
        result = modem.wait(timeout=30)
    assert result.ok and result.pages_tx == 2 and result.ecm

* ``modem.pty`` is the slave path (``/dev/pts/N``); open it like a serial port (pyserial works;
  modem-control lines do not exist on a pty). The peer holds the slave open too, so the DTE may
  close and reopen it.
* ``modem.wait()`` returns once the peer has exited; it exits by itself 0.5 s after the DTE's
  ``ATH`` once the terminal has finished (or 5 s after the terminal finished without an ``ATH``),
  and in any case after ``timeout`` seconds. ``modem.stop()`` ends it at once (SIGTERM); the
  ``with`` block stops it too.
* ``ModemResult``: ``status`` is spandsp's T.30 completion code (0 = OK; ``status_text`` says
  it in words, e.g. "The call dropped prematurely"), ``pages_tx`` / ``pages_rx`` what the
  terminal sent / received, ``rate`` (bit/s), ``ecm``, ``encoding`` (mh / mr / mmr on the line),
  (meaningful when pages moved: it reads 14400 before any training), ``fields`` every key of
  the peer's last stdout line
  ``RESULT status=0 status_text="OK" end=hangup pages_tx=0 pages_rx=1 rate=14400 ecm=0
  encoding=mh x_res=8031 y_res=7700 width=1728 length=140 bad_rows=0 remote_ident="+1 555 0100"
  rings=0 line_seconds=19.5 wall_seconds=8.7``, and ``log`` its stderr.
* Options: ``ecm=True`` (offers T.6 too), ``compressions="mh,mr,mmr"``,
  ``modems="v17,v29,v27ter"`` (drop v17 to test fallback), ``ident=``, ``log_level=1`` (T.30 log),
  ``2`` (+ modem, pacing), ``3`` (debug), ``trace=True`` (every DTE⇄DCE byte, timestamped, in
  ``result.log``), ``xonxoff=True`` (the modem sends XOFF / XON when its transmit buffer fills /
  drains), ``realtime=True`` (all audio at real time), ``ring_interval=`` (role "call": ``RING``
  every so many seconds, the first after one interval, default 1 s, until ``ATA``). Role
  "answer" wants ``ATD`` (any number); ``ATD`` in role "call" gets ``BUSY``. The terminal
  identifies itself as ``+1 555 0199`` unless ``ident=`` says otherwise.
* Standalone: ``spandsp_modem --answer --receive out.tif --log 1 --trace`` prints the pty path,
  then serves one call; ``python -c 'from tests.peers import spandsp_modem_binary as b; print(b())'``
  builds it (cached under ``build/peers/``).

Time on the line
----------------
Audio runs in simulated time: ahead of real time while nothing is expected from the DTE (the
modem is receiving for ``+FRH`` / ``+FRM`` / ``+FRS``; it holds a whole HDLC frame or enough
image data or the end of it; it is finishing a transmission and the DTE waits for ``OK``), and at
real time whenever the DTE owes the modem a command or data. So the DTE's latency costs as much
line time as on a real line, while a one-page call takes ~1.5 s instead of ~20 s. Image data the
DTE sends is taken only as fast as the modem's 4 KB buffer drains (the pty's own buffer then
blocks the DTE's writes: flow control without XON/XOFF). ``realtime_image=True`` plays the
DTE's TCF and pages at the line rate: efax divides the page's bytes by its whole seconds and dies
of SIGFPE when a page takes under one second.

What spandsp 0.0.6's T.31 does (seen in the AT trace, or read in its t31.c where marked)
------------------------------------------------------------------------------------------
* ``+FCLASS=?`` → ``0,1,1.0``; ``+FTM=?`` / ``+FRM=?`` → ``24,48,72,73,74,96,97,98,121,122,145,146``;
  ``+FTH=?`` / ``+FRH=?`` → ``3`` only (``+FTH=146`` is ``ERROR``): no HDLC at high speed, so ECM
  frames must be HDLC-framed (flags, zero-bit insertion, FCS) by the DTE inside ``+FTM`` /
  ``+FRM`` data, as HylaFAX does. ``+FAR`` is 0 (t31.c: a V.21 frame while ``+FRM`` waits gives
  ``+FCERROR``). Echo is on (``E1``) until ``ATE0``; ``ATI3`` → ``www.soft-switch.org``.
* After ``ATD`` the DCE is in ``+FRH=3`` (CNG, then ``CONNECT`` and the first frame); after
  ``ATA`` in ``+FTH=3`` (CED, then ``CONNECT``).
* ``+FRH=3`` frames carry the two FCS octets before ``DLE ETX``
  (CFR arrives as ``FF 13 84 EA 7D DLE ETX``), then ``OK`` (``ERROR`` on a bad FCS). After a
  non-final frame (control 0x03: CSI, NSF) the answer is ``OK`` and the DTE issues ``+FRH=3``
  again for the next one; the ``OK`` after a *final* frame (0x13) is held back until the carrier
  drops (60 ms of line time later). t31.c: frames that arrive while the DTE is in command mode
  are queued and handed out by the next ``+FRH=3``; ``+FRS`` empties that queue.
* ``+FTH=3``: send address, control, FCF, FIF, DLE-doubled, ending ``DLE ETX``, no FCS; the
  answer is ``CONNECT`` once a non-final frame has gone out (send the next frame then), ``OK``
  after the final one. The preamble is 1 s of flags. t31.c: in HDLC transmit, 5 s without data
  from the DTE → ``ERROR`` and back to command mode.
* ``+FTM=n``: ``CONNECT`` at once, before the training. t31.c: fill is 0xFF before the first byte
  and 0x00 when the DTE is late mid-stream (a 0x00 inside a T.4 row corrupts it: keep up); bytes
  after ``DLE ETX`` in the same ``t31_at_rx`` call are dropped (this peer splits the DTE's writes
  at ``DLE ETX``, so a DTE that writes ahead is forgiven here, not by a real spandsp modem);
  ``OK`` when the last bit has gone out.
* ``+FRS=n`` waits for n×10 ms of silence *measured on the line*, silence heard before the
  command included: efax's ``+FRS=1`` after TCF is answered at once. t31.c: any byte from the DTE
  aborts a ``+FRH`` / ``+FRM`` / ``+FRS`` in progress (``OK``; ``DLE ETX`` first if a carrier was
  up); after ``ATD``, no carrier within S7 seconds → ``NO CARRIER`` and on hook.

What efax 0.9a does on a pty
----------------------------
* ``efax -d PTY -o1`` works on a pty (``-o1``: no Class 2 probing); commands are 100 ms apart;
  without ``-w`` it answers with ``ATA`` at once, without waiting for ``RING``.
* It sends raw G3 in its "fax" format: MH, MSB-first, ending in RTC (efax auto-detects it;
  LSB-first raw data is "can't get format"), taken as 196 lines/inch. A TIFF G3 strip without RTC
  (as TIFF-F allows) is decoded on past the strip's end: garbage rows after the page ("Warning:
  EOF before RTC").
* It adds 20 blank rows on top of every page sent (the header space; ``-h ""`` leaves them blank);
  at 98 lines/inch it ORs the first rows in pairs as well — hence the fine-resolution raw input.
* Received pages are TIFF G3, FillOrder 1, one file per page (``PREFIX.001``…).
"""

from __future__ import annotations

import glob
import os
import random
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from tools import require_tool, strict  # noqa: E402

from faxpipe import Page, codec, tiff  # noqa: E402

pytestmark = pytest.mark.oracle

WIDTH = 1728
EFAX_IDENT = "+1 555 0100"
PEER_IDENT = "+1 555 0199"
CALL_SECONDS = 45  # each side's hard limit; a call here takes 2 to 10 s


def modem_peer():
    """The peers module once its binary is built; skip (fail under FAXPIPE_STRICT=1) without
    gcc / pkg-config / spandsp."""
    require_tool("gcc")
    require_tool("pkg-config")
    import peers

    try:
        peers.spandsp_modem_binary()
    except peers.PeerUnavailable as exc:
        if strict():
            pytest.fail(f"FAXPIPE_STRICT=1 and {exc}")
        pytest.skip(str(exc))
    return peers


def make_page(seed: int, height: int, yres: float = 98.0) -> Page:
    """A small page of text-like blocks of varied patterns: every row differs from its neighbours
    often enough that a lost, doubled or shifted row shows."""
    rng = random.Random(seed)
    stride = WIDTH // 8
    data = bytearray(stride * height)
    for y in range(height):
        if (y // 6) % 4 == 3:
            continue  # white gaps between "lines of text"
        for x in range(0, stride, 12):
            if rng.random() < 0.45:
                for b in range(x, min(stride, x + rng.randint(1, 10))):
                    data[y * stride + b] = rng.choice((0xFF, 0xF0, 0x0F, 0xAA, 0x3C, 0x81))
    return Page(WIDTH, height, bytes(data), 204.0, yres)


def run_efax(args: list[str], cwd, timeout: float = CALL_SECONDS) -> tuple[int, str]:
    efax = require_tool("efax")
    proc = subprocess.run(
        [efax, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    return proc.returncode, proc.stdout + proc.stderr


def report(efax_log: str, result) -> str:
    return f"efax:\n{efax_log[-3000:]}\npeer RESULT {result.fields}\npeer log:\n{result.log[-3000:]}"


def test_peer_answers_the_at_probes_a_class1_driver_sends(tmp_path):
    """The identity and capability answers a driver's probe sees (quirks listed above)."""
    import select

    peers = modem_peer()
    with peers.start_spandsp_modem("answer", receive=tmp_path / "rx.tif", timeout=20) as modem:
        fd = os.open(modem.pty, os.O_RDWR | os.O_NOCTTY)
        try:
            def command(text: str) -> bytes:
                os.write(fd, text.encode() + b"\r")
                out, deadline = b"", time.monotonic() + 5
                while not (out.endswith(b"OK\r\n") or out.endswith(b"ERROR\r\n")):
                    if not select.select([fd], [], [], max(0, deadline - time.monotonic()))[0]:
                        break
                    out += os.read(fd, 4096)
                return out

            assert command("ATE0") == b"ATE0\r\r\nOK\r\n"  # echo on until E0
            assert command("AT+FCLASS=?") == b"\r\n0,1,1.0\r\n\r\nOK\r\n"
            assert command("AT+FCLASS=1") == b"\r\nOK\r\n"
            modulations = b"24,48,72,73,74,96,97,98,121,122,145,146"
            assert command("AT+FTM=?") == b"\r\n" + modulations + b"\r\n\r\nOK\r\n"
            assert command("AT+FRM=?") == b"\r\n" + modulations + b"\r\n\r\nOK\r\n"
            assert command("AT+FTH=?") == b"\r\n3\r\n\r\nOK\r\n"  # no HDLC at high speed
            assert command("AT+FAR?") == b"\r\n0\r\n\r\nOK\r\n"
            assert command("AT+FTH=146") == b"\r\nERROR\r\n"
        finally:
            os.close(fd)
        result = modem.stop()
    assert result.end == "signal" and result.status == -1 and result.pages_rx == 0


def test_efax_sends_two_pages_to_the_spandsp_terminal(tmp_path):
    """efax dials the peer (ATD), the terminal answers and receives: the pages arrive pixel for
    pixel, below the 20 blank rows efax puts on top of every page."""
    peers = modem_peer()
    pages = [make_page(1, 96, yres=196.0), make_page(2, 64, yres=196.0)]
    files = []
    for n, page in enumerate(pages, 1):
        path = tmp_path / f"page{n}.g3"
        path.write_bytes(codec.encode(page, "mh"))  # efax's raw "fax" format: MH, MSB-first, RTC
        files.append(path.name)
    received = tmp_path / "rx.tif"
    with peers.start_spandsp_modem(
        "answer", receive=received, timeout=CALL_SECONDS, realtime_image=True, log_level=1
    ) as modem:
        rc, log = run_efax(
            ["-d", modem.pty, "-o1", "-l", EFAX_IDENT, "-h", "", "-v", "ewinchrt",
             "-t", "123", *files],
            cwd=tmp_path,
        )
        result = modem.wait(timeout=CALL_SECONDS)
    assert rc == 0, report(log, result)
    assert result.ok and result.pages_rx == 2 and result.end == "hangup", report(log, result)
    assert result.rate == 14400 and not result.ecm and result.encoding == "mh"
    assert result.fields["remote_ident"] == EFAX_IDENT  # efax's TSI as the terminal read it
    got = tiff.read(received)
    assert len(got) == 2
    for sent, page in zip(pages, (p.page for p in got)):
        assert page.width == WIDTH and page.height == sent.height + 20
        top = 20 * page.stride
        assert not any(page.data[:top]), "efax's header rows should be blank with -h ''"
        assert page.data[top:] == sent.data


def test_spandsp_terminal_calls_efax_and_sends_two_pages(tmp_path):
    """The terminal calls (RING), efax answers (ATA) and receives: its files decode to the sent
    pages pixel for pixel."""
    peers = modem_peer()
    pages = [make_page(3, 100), make_page(4, 70)]
    tx = tmp_path / "tx.tif"
    tiff.write(tx, pages, compression="g4")
    with peers.start_spandsp_modem(
        "call", send=tx, ident=PEER_IDENT, timeout=CALL_SECONDS, log_level=1
    ) as modem:
        rc, log = run_efax(
            ["-d", modem.pty, "-o1", "-l", EFAX_IDENT, "-v", "ewinchr", "-r", "rx"], cwd=tmp_path
        )
        result = modem.wait(timeout=CALL_SECONDS)
    assert rc == 0, report(log, result)
    assert result.ok and result.pages_tx == 2 and result.end == "hangup", report(log, result)
    assert result.rate == 14400 and not result.ecm
    assert f"remote ID -> {PEER_IDENT:>20}" in log  # the terminal's CSI... as efax read it
    files = sorted(glob.glob(str(tmp_path / "rx.[0-9][0-9][0-9]")))
    assert len(files) == 2, report(log, result)
    for sent, path in zip(pages, files):
        (page,) = tiff.read(path)
        assert page.bad_rows == 0
        assert page.page.data == sent.data and page.page.height == sent.height


def test_spandsp_terminal_offering_ecm_falls_back_for_efax(tmp_path):
    """With ECM and T.6 offered, a DTE without ECM (efax) still gets the page, in MH, no ECM."""
    peers = modem_peer()
    page = make_page(5, 60)
    tx = tmp_path / "tx.tif"
    tiff.write(tx, [page], compression="g3-1d")
    with peers.start_spandsp_modem("call", send=tx, ecm=True, timeout=CALL_SECONDS) as modem:
        rc, log = run_efax(["-d", modem.pty, "-o1", "-v", "ewin", "-r", "rx"], cwd=tmp_path)
        result = modem.wait(timeout=CALL_SECONDS)
    assert rc == 0, report(log, result)
    assert result.ok and result.pages_tx == 1, report(log, result)
    assert not result.ecm and result.encoding == "mh"
    (got,) = tiff.read(tmp_path / "rx.001")
    assert got.page.data == page.data


def test_a_dte_hanging_up_mid_call_gets_a_failed_result_at_once(tmp_path):
    """ATD, the first frame (the terminal's CSI, with its FCS), then ATH0: the peer reports the
    dropped call and exits nonzero without waiting for its own timers or timeout."""
    import serial

    peers = modem_peer()
    started = time.monotonic()
    with peers.start_spandsp_modem("answer", receive=tmp_path / "rx.tif", timeout=20) as modem:
        port = serial.Serial(modem.pty, 19200, timeout=5)
        try:
            for command in (b"ATE0", b"AT+FCLASS=1"):
                port.write(command + b"\r")
                assert port.read_until(b"OK\r\n").endswith(b"OK\r\n")
            port.write(b"ATD123\r")
            answer = port.read_until(b"OK\r\n")
            # CSI: address, control 0x03 (not final), FCF 0x40, the identity last digit first,
            # two FCS octets, DLE ETX; then OK and the DTE must ask again (+FRH=3) for the DIS.
            csi = b"\xff\x03\x40" + PEER_IDENT[::-1].ljust(20).encode()
            assert answer.startswith(b"\r\nCONNECT\r\n" + csi), answer
            assert answer.endswith(b"\x10\x03\r\nOK\r\n") and len(answer) == 11 + 23 + 2 + 2 + 6
            port.write(b"ATH0\r")
            assert port.read_until(b"OK\r\n").endswith(b"OK\r\n")
        finally:
            port.close()
        result = modem.wait(timeout=10)
    assert result.returncode == 1 and result.status != 0 and result.end == "hangup", result
    assert result.status_text == "The call dropped prematurely"
    assert time.monotonic() - started < 5
