"""drivers.softmodem: the T.31 interpreter (tables of command → response, as spandsp's t31_tests),
two modems on one exchange (call set-up, V.21 frames with FCS, high-speed data, +FCERROR, pacing,
BUSY / NO ANSWER, every fault), the pty mode, garbage, and efax as a real peer.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import time

import pytest
import serial

from drivers import softmodem
from drivers.at import DLE_ETX, ATChannel, dle_stuff
from drivers.softmodem import fax1
from drivers.softmodem.dce import SoftModem
from drivers.softmodem.line import Exchange, Faults, FrameSpec, same_modulation
from faxpipe.errors import ModemError
from faxpipe.t30.hdlc import add_fcs, fcs_ok
sys.path.insert(0, os.path.dirname(__file__))
from tools import require_tool  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCALE = 20
_names = itertools.count()

CSI = bytes.fromhex("ff 03 40") + b"0010 555 1+".ljust(20)[::-1]
DIS = bytes.fromhex("ff 13 80 00 ce f4")
MCF = bytes.fromhex("ff 13 8c")
MODS = "24,48,72,73,74,96,97,98,121,122,145,146"


def exchange_name() -> str:
    return f"test-{os.getpid()}-{next(_names)}"


# --- the interpreter, as tables --------------------------------------------------------------------

def ok(text=""):
    return (f"\r\n{text}\r\n" if text else "") + "\r\nOK\r\n"


ERROR = "\r\nERROR\r\n"
TABLE = [
    ("ATE0\r", "ATE0\r" + ok()),          # echo is on until ATE0, as on real modems
    ("AT\r", ok()),
    ("at\r", ok()),
    ("ATI3\r", ok("faxpipe softmodem Class 1 (T.31) 0.1")),
    ("AT+FCLASS=?\r", ok("0,1,2,2.0")),   # Class 2 / 2.0 personalities: drivers.softmodem.fax2
    ("AT+FCLASS?\r", ok("0")),
    ("AT+FTM=?\r", ERROR),                # Class 1 commands need +FCLASS=1
    ("AT+FCLASS=2.1\r", ERROR),
    ("AT+FCLASS=1\r", ok()),
    ("AT+FCLASS?\r", ok("1")),
    ("AT+FTM=?\r", ok(MODS)),
    ("AT+FRM=?\r", ok(MODS)),
    ("AT+FTH=?\r", ok("3")),
    ("AT+FRH=?\r", ok("3")),
    ("AT+FTS=?\r", ok("0-255")),
    ("AT+FRS=?\r", ok("0-255")),
    ("AT+FTM=95\r", ERROR),
    ("AT+FTH=96\r", ERROR),
    ("AT+FRH=3\r", "\r\nNO CARRIER\r\n"),  # no call
    ("AT+FTS=1\r", ok()),
    ("AT+FAR=1;+FAR?\r", ok("1")),
    ("AT+FDD=?\r", ok("0,1")),
    ("ATS0=2\r", ok()),
    ("ATS0?\r", ok("002")),
    ("ATS7=60S7?\r", ok("060")),
    ("ATQ0V1E0&D2&K4L0M0X4\r", ok()),
    ("noise AT\r", ok()),                  # characters before AT are ignored (V.250 §5.2.1)
    ("A/", ok()),                          # repeat the last command line
    ("ATFOO\r", ERROR),
    ("AT+FOO=1\r", ERROR),
    ("AT+FCLASS=1;+FOO\r", ERROR),
    ("ATE5\r", ERROR),
    ("AT\x08\x08ATH\r", ok()),             # backspace edits
    ("ATV0\r", "0\r"),
    ("AT+FCLASS=9\r", "4\r"),
    ("ATV1\r", ok()),
    ("ATQ1\r", ""),
    ("AT\r", ""),
    ("ATQ0\r", ok()),
    ("ATD;\r", ERROR),
    ("ATA\r", "\r\nNO CARRIER\r\n"),       # nothing ringing
    ("AT" + "X" * 300 + "\r", ERROR),      # overlong line
    ("ATZ\r", ok()),
    ("AT\r", "AT\r" + ok()),              # ATZ restored echo
]


def run_table(send, receive):
    for command, expected in TABLE:
        send(command.encode("latin-1"))
        got = receive(expected)
        assert got == expected, f"{command!r}: expected {expected!r}, got {got!r}"


def _receiver(read):
    def receive(expected):
        data = bytearray()
        deadline = time.monotonic() + (0.3 if not expected else 3)
        while time.monotonic() < deadline and len(data) < len(expected):
            data += read()
        if not expected:
            return ""
        return data.decode("latin-1")
    return receive


def test_at_table_direct():
    modem = SoftModem("1", Exchange(exchange_name()))
    try:
        run_table(modem.write, _receiver(lambda: modem.read(4096, 0.05)))
    finally:
        modem.close()


def test_at_table_through_pyserial_url():
    port = serial.serial_for_url(f"softmodem://1?exchange={exchange_name()}", timeout=0.05)
    try:
        run_table(port.write, _receiver(lambda: port.read(4096)))
    finally:
        port.close()


def test_garbage_input_gives_error_and_the_modem_stays_usable():
    modem = SoftModem("1", Exchange(exchange_name()))
    try:
        modem.write(bytes(range(256)) * 8 + b"\r")   # contains CRs: several garbage lines, no hang
        modem.write(b"AT\x80\xff\r")
        time.sleep(0.2)
        modem.read(1 << 16, 0.1)
        modem.write(b"ATE0\r")
        time.sleep(0.1)
        modem.read(1 << 16, 0.1)
        modem.write(b"AT\r")
        assert modem.read(100, 2) == b"\r\nOK\r\n"
    finally:
        modem.close()


def test_unknown_url_options_are_refused():
    with pytest.raises(serial.SerialException, match="unknown option 'colour'"):
        serial.serial_for_url("softmodem://1?colour=blue")
    with pytest.raises(serial.SerialException, match="bad frame fault"):
        serial.serial_for_url("softmodem://1?drop=zz")
    with pytest.raises(serial.SerialException, match="needs a number"):
        serial.serial_for_url("softmodem://?exchange=x")


def test_number_taken():
    name = exchange_name()
    a = serial.serial_for_url(f"softmodem://7?exchange={name}")
    try:
        with pytest.raises(serial.SerialException, match="already taken"):
            serial.serial_for_url(f"softmodem://7?exchange={name}")
    finally:
        a.close()


def test_modulation_table():
    assert same_modulation(145, 146) and same_modulation(97, 98)
    assert not same_modulation(96, 97) and not same_modulation(3, 24)
    spec = FrameSpec("n2,8c/2,2e*,fa")
    assert spec.hits(2, None, 0)
    assert spec.hits(5, 0x8C, 2) and not spec.hits(5, 0x8C, 1)
    assert spec.hits(9, 0x2F, 7)               # X bit masked
    assert spec.hits(9, 0xFB, 1) and not spec.hits(9, 0xFB, 2)


# --- two modems on one exchange ------------------------------------------------------------------------

class Pair:
    """Caller ``a`` (number 100) and callee ``b`` (number 200) as pyserial URLs with AT channels."""

    def __init__(self, a_opts="", b_opts="", **exchange):
        self.name = exchange_name()
        opts = "&".join(f"{k}={v}" for k, v in {"rate_scale": SCALE, "ring_interval": 2, **exchange}.items())
        self.ports = [serial.serial_for_url(f"softmodem://100?exchange={self.name}&{opts}{a_opts}", timeout=0.1),
                      serial.serial_for_url(f"softmodem://200?exchange={self.name}{b_opts}", timeout=0.1)]
        self.a, self.b = (ATChannel(p, timeout=5) for p in self.ports)
        for ch in (self.a, self.b):
            ch.check("ATE0")
            ch.check("AT+FCLASS=1")

    def connect(self):
        """ATD → RING → ATA → CONNECT on both sides (the callee transmits, the caller receives)."""
        self.a.transcript.tx("ATD200")
        self.a.write(b"ATD200\r")
        assert self.b.wait_result(finals=("RING",)).result == "RING"
        assert self.b.command("ATA").result == "CONNECT"
        return self

    def phase_b(self):
        """Connected, and the callee's DIS received by the caller: the caller may transmit."""
        self.connect()
        send_frames(self.b, DIS)
        assert self.a.wait_result().result == "CONNECT"
        assert fcs_ok(self.a.read_data())
        assert self.a.wait_result().result == "OK"
        return self

    def start_data(self, tx=96, rx=96):
        """The callee listens with +FRM=rx, then the caller starts +FTM=tx (CONNECT)."""
        self.b.write(f"AT+FRM={rx}\r".encode())
        time.sleep(0.02)
        assert self.a.command(f"AT+FTM={tx}").result == "CONNECT"

    def close(self):
        for p in self.ports:
            p.close()


@pytest.fixture
def pair():
    made = []

    def make(*args, **kwargs):
        made.append(Pair(*args, **kwargs))
        return made[-1]
    yield make
    for p in made:
        p.close()


def send_frames(ch, *frames):
    for frame in frames:
        ch.send_data(frame)
        expect = "OK" if frame[1] & 0x10 else "CONNECT"
        assert ch.wait_result().result == expect


def receive_frame(ch, *, command=True):
    """+FRH=3 (unless implied): CONNECT, the frame with its FCS, then the final result."""
    if command:
        assert ch.command("AT+FRH=3").result == "CONNECT"
    data = ch.read_data()
    return data, ch.wait_result().result


def test_call_and_frames_with_fcs(pair):
    p = pair().connect()
    send_frames(p.b, CSI, DIS)
    assert p.a.wait_result().result == "CONNECT"          # ATD implies +FRH=3
    data, result = receive_frame(p.a, command=False)
    assert (data[:-2], result) == (CSI, "OK") and fcs_ok(data)
    data, result = receive_frame(p.a)
    assert (data, result) == (add_fcs(DIS), "OK")
    # the answer: caller transmits, callee receives
    p.b.write(b"AT+FRH=3\r")
    assert p.a.command("AT+FTH=3").result == "CONNECT"
    send_frames(p.a, MCF)
    assert p.b.wait_result().result == "CONNECT"
    assert receive_frame(p.b, command=False) == (add_fcs(MCF), "OK")


def test_final_frame_ok_comes_when_carrier_drops(pair):
    p = pair().connect()
    callee = p.ports[1].modem
    channel = callee.call.own(callee)
    p.b.send_data(CSI)
    assert p.b.wait_result().result == "CONNECT"
    assert p.a.wait_result().result == "CONNECT"
    assert fcs_ok(p.a.read_data())
    assert p.a.wait_result().result == "OK"      # not final: OK at once, the carrier is still on
    assert channel.current is not None
    p.a.write(b"AT+FRH=3\r")
    p.b.send_data(DIS)
    assert p.a.wait_result().result == "CONNECT"
    assert fcs_ok(p.a.read_data())
    assert p.a.wait_result().result == "OK"      # final: OK once the carrier has dropped
    assert channel.current is None
    assert p.b.wait_result().result == "OK"


def test_dle_in_frames_and_fdd(pair):
    p = pair().connect()
    frame = bytes.fromhex("ff 13 10 10 10 03")
    p.a.check("AT")  # the implied +FRH is pending; any character aborts it …
    send_frames(p.b, frame)
    # … so nothing was received: the carrier came and went
    p.a.check("AT+FDD=1")
    p.b.write(b"AT+FRH=3\r")
    assert p.a.command("AT+FTH=3").result == "CONNECT"
    send_frames(p.a, frame)
    assert p.b.wait_result().result == "CONNECT"
    assert p.b.read_data() == add_fcs(frame)
    assert p.b.wait_result().result == "OK"


def test_high_speed_data_intact_then_no_carrier(pair):
    p = pair().phase_b()
    page = bytes(range(256)) * 20 + b"\x00\x08\x80\x00\x08\x80" + b"\x10" * 30
    p.start_data(145, 146)                                  # long and short train: same modulation
    p.a.send_data(page)
    assert p.a.wait_result(timeout=10).result == "OK"
    assert p.b.wait_result().result == "CONNECT"
    got = p.b.read_data(timeout=10)
    assert got[:len(page)] == page
    assert 0 < len(got) - len(page) <= 8 and not any(got[len(page):])   # a few zeros after the data
    assert p.b.wait_result().result == "NO CARRIER"


@pytest.mark.parametrize("tx, rx", [(96, 97), (145, 96), (24, 48)])
def test_fcerror_on_another_modulation(pair, tx, rx):
    p = pair().phase_b()
    p.start_data(tx, rx)
    assert p.b.wait_result().result == "+FCERROR"
    p.a.send_data(bytes(100))
    assert p.a.wait_result().result == "OK"


def test_fcerror_hdlc_versus_high_speed(pair):
    p = pair().phase_b()
    assert p.a.command("AT+FTM=96").result == "CONNECT"
    assert p.b.command("AT+FRH=3").result == "+FCERROR"     # HylaFAX's classic after PPR
    p.a.send_data(bytes(50))
    assert p.a.wait_result().result == "OK"
    p.a.write(b"AT+FTH=3\r")
    time.sleep(0.05)
    assert p.b.command("AT+FRM=96").result == "+FCERROR"
    assert p.a.wait_result().result == "CONNECT"
    send_frames(p.a, MCF)


@pytest.mark.parametrize("mod", [96, 146, 24])
def test_pacing_at_the_scaled_line_rate(pair, mod):
    p = pair().phase_b()
    bps, training = softmodem.MODULATIONS[mod][1:]
    size = bps * SCALE // 8 // 2          # half a second of scaled line time
    t0 = time.monotonic()
    assert p.a.command(f"AT+FTM={mod}").result == "CONNECT"
    p.a.send_data(bytes(size))
    assert p.a.wait_result(timeout=10).result == "OK"
    elapsed = time.monotonic() - t0
    expected = (size * 8 / bps + training) / SCALE
    assert expected * 0.95 <= elapsed <= expected * 1.5 + 0.1, (elapsed, expected)   # never early; late under load


def test_frs_waits_for_line_silence(pair):
    p = pair().phase_b()
    t0 = time.monotonic()
    assert p.a.command("AT+FRS=40").result == "OK"      # 400 ms of silence, 20 ms scaled
    assert 0.015 <= time.monotonic() - t0 < 0.5
    assert p.b.command("AT+FTM=96").result == "CONNECT"
    p.b.send_data(bytes(2400))          # 2 s of V.29 9600 line time: 0.1 s scaled
    t0 = time.monotonic()
    assert p.a.command("AT+FRS=20").result == "OK"      # only after the carrier has ended
    assert time.monotonic() - t0 >= 0.09
    assert p.b.wait_result().result == "OK"


def test_dte_abort_of_frh(pair):
    p = pair().phase_b()
    p.a.write(b"AT+FRH=3\r")
    time.sleep(0.1)
    assert p.a.abort().result == "OK"
    assert p.a.command("AT").ok


def test_far_end_hangup_ends_pending_receive(pair):
    p = pair().phase_b()
    p.a.write(b"AT+FRH=3\r")
    p.b.check("ATH0")
    assert p.a.wait_result().result == "NO CARRIER"
    assert p.a.command("AT+FTH=3").result == "NO CARRIER"


def test_dte_stall_during_fth_is_an_error(pair, monkeypatch):
    monkeypatch.setattr(fax1, "DTE_INACTIVITY", 0.3)
    p = pair().connect()
    p.b.send_data(CSI)
    assert p.b.wait_result().result == "CONNECT"
    assert p.b.wait_result(timeout=3).result == "ERROR"


# --- call progress ---------------------------------------------------------------------------------------

def test_busy_when_in_a_call(pair):
    p = pair().connect()
    third = serial.serial_for_url(f"softmodem://300?exchange={p.name}", timeout=0.1)
    try:
        ch = ATChannel(third)
        ch.check("ATE0")
        assert ch.command("ATD200", timeout=3).result == "BUSY"
        assert ch.command("ATD999", timeout=3).result == "NO CARRIER"    # nobody has that number
    finally:
        third.close()


def test_busy_fault(pair):
    p = pair(b_opts="&busy=1")
    assert p.a.command("ATD200", timeout=3).result == "BUSY"


def test_no_answer_after_the_rings(pair):
    p = pair(max_rings=3)
    t0 = time.monotonic()
    assert p.a.command("ATDT 200", timeout=5).result == "NO ANSWER"
    assert 3 * 2 / SCALE <= time.monotonic() - t0 < 3 * 2 / SCALE + 1
    rings = 0
    while True:
        try:
            p.b.wait_result(finals=("RING",), timeout=0.2)
            rings += 1
        except ModemError:
            break
    assert rings == 3


def test_no_answer_fault(pair):
    p = pair(b_opts="&no_answer=1", max_rings=2)
    assert p.a.command("ATD200", timeout=5).result == "NO ANSWER"


def test_auto_answer_after_s0_rings(pair):
    p = pair(b_opts="&rings=2")
    p.a.write(b"ATD200\r")
    assert p.b.wait_result(finals=("RING",)).result == "RING"
    assert p.b.wait_result(finals=("RING",)).result == "RING"
    assert p.b.wait_result().result == "CONNECT"           # answered by itself: implied +FTH=3
    send_frames(p.b, DIS)
    assert p.a.wait_result().result == "CONNECT"


def test_dial_aborted_by_the_dte(pair):
    p = pair()
    p.a.write(b"ATD200\r")
    p.b.wait_result(finals=("RING",))
    assert p.a.abort().result == "NO CARRIER"
    assert p.b.command("ATA").result == "NO CARRIER"


# --- faults -----------------------------------------------------------------------------------------------

def test_bit_errors_in_high_speed_data_are_seeded(pair):
    results = []
    for _ in range(2):
        p = pair(a_opts="&ber=1e-3&seed=7").phase_b()
        p.start_data()
        p.a.send_data(bytes(4000))
        p.a.wait_result(timeout=10)
        p.b.wait_result()
        got = p.b.read_data()[:4000]
        results.append(got)
    flipped = sum(bin(b).count("1") for b in results[0])
    assert 10 <= flipped <= 70          # 32 000 bits at 1e-3
    assert results[0] == results[1]


def test_lost_frame(pair):
    p = pair(b_opts="&drop=40").connect()     # CSI lost, DIS arrives
    send_frames(p.b, CSI, DIS)
    assert p.a.wait_result().result == "CONNECT"
    assert receive_frame(p.a, command=False) == (add_fcs(DIS), "OK")


def test_lost_signal_gives_connect_then_no_carrier(pair):
    p = pair(b_opts="&drop=n1").connect()
    send_frames(p.b, DIS)
    assert p.a.wait_result().result == "CONNECT"
    assert p.a.wait_result().result == "NO CARRIER"


def test_corrupted_frame(pair):
    p = pair(b_opts="&corrupt=80").connect()
    send_frames(p.b, DIS)
    assert p.a.wait_result().result == "CONNECT"
    data, result = receive_frame(p.a, command=False)
    assert result == "ERROR" and len(data) == len(DIS) + 2 and not fcs_ok(data)


@pytest.mark.parametrize("cut", ["frame:2", "fcf:80"])
def test_cut_at_a_frame(pair, cut):
    p = pair(b_opts=f"&cut={cut}").connect()
    p.b.send_data(CSI)
    assert p.b.wait_result().result == "CONNECT"
    p.b.send_data(DIS)
    assert p.b.wait_result().result == "NO CARRIER"
    assert p.a.wait_result().result == "CONNECT"
    p.a.read_data(), p.a.wait_result()        # the CSI got through
    assert p.a.command("AT+FRH=3").result == "NO CARRIER"


def test_cut_in_page_data(pair):
    p = pair(a_opts="&cut=data:1@500").phase_b()
    p.start_data()
    p.a.send_data(bytes(3000))
    assert p.a.wait_result().result == "NO CARRIER"
    assert p.b.wait_result().result == "CONNECT"
    got = p.b.read_data()
    assert 0 < len(got) < 3000
    assert p.b.wait_result().result == "NO CARRIER"


def test_cut_after_answer(pair):
    p = pair(b_opts="&cut=answer")
    p.a.write(b"ATD200\r")
    p.b.wait_result(finals=("RING",))
    assert p.b.command("ATA").result == "NO CARRIER"
    assert p.a.wait_result().result == "NO CARRIER"


def test_exchange_wide_faults():
    ex = Exchange(exchange_name(), rate_scale=SCALE, faults=Faults(busy=True))
    a, b = SoftModem("1", ex), SoftModem("2", ex)
    try:
        a.write(b"ATE0\r")
        time.sleep(0.05)
        a.read(100, 0.1)
        a.write(b"ATD2\r")
        out = b""
        deadline = time.monotonic() + 3
        while b"BUSY" not in out and time.monotonic() < deadline:
            out += a.read(100, 0.1)
        assert b"BUSY" in out
    finally:
        a.close()
        b.close()


# --- pseudo-terminals -------------------------------------------------------------------------------------

@contextlib.contextmanager
def serve_pair(scale, *extra):
    """``python -m drivers.softmodem --pair`` with ``extra`` options (e.g. ``--class 2.0``):
    yields [(device, number), (device, number)]."""
    proc = subprocess.Popen([sys.executable, "-m", "drivers.softmodem", "--pair", "--rate-scale", str(scale),
                             "--ring-interval", "2", *extra], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline().split() for _ in range(2)]
        assert all(len(line) == 2 for line in lines), (lines, proc.stderr.read() if proc.poll() else "")
        yield lines
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def pty_pair():
    with serve_pair(10) as lines:
        yield lines


def test_pty_pair_with_pyserial(pty_pair):
    (dev_a, num_a), (dev_b, num_b) = pty_pair
    assert os.path.exists(dev_a) and os.path.exists(dev_b) and num_b == "200"
    pa = serial.Serial(dev_a, 19200, timeout=0.1)
    pb = serial.Serial(dev_b, 19200, timeout=0.1, rtscts=True)     # flow-control settings are harmless
    try:
        a, b = ATChannel(pa), ATChannel(pb)
        assert a.set_line("dtr", True) in (True, False)             # a pty has no modem-control lines
        assert "faxpipe" in a.command("ATI3").info
        assert a.query("AT+FCLASS=?") == "0,1,2,2.0"
        for ch in (a, b):
            ch.check("ATE0")
            ch.check("AT+FCLASS=1")
        a.write(b"ATD200\r")
        assert b.wait_result(finals=("RING",)).result == "RING"
        assert b.command("ATA").result == "CONNECT"
        send_frames(b, DIS)
        assert a.wait_result().result == "CONNECT"
        assert a.read_data() == add_fcs(DIS)
        assert a.wait_result().result == "OK"
        # reopening the device does not break the server
        pa.close()
        pa = serial.Serial(dev_a, 19200, timeout=0.1)
        assert ATChannel(pa).command("AT").ok
    finally:
        pa.close()
        pb.close()


def test_silent_pty_gives_a_clear_error():
    master, slave = os.openpty()           # a pty nobody serves: a modem switched off
    try:
        port = serial.Serial(os.ttyname(slave), timeout=0.1)
        t0 = time.monotonic()
        with pytest.raises(ModemError, match="within 0.5 s"):
            ATChannel(port, timeout=0.5).command("AT")
        assert time.monotonic() - t0 < 1.5
        port.close()
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.oracle
def test_efax_initialises_the_pty_modem(pty_pair, tmp_path):
    efax = require_tool("efax")
    (dev_a, _), _ = pty_pair
    page = tmp_path / "page.001"
    page.write_bytes(b"\x00\x08\x80" * 6)  # efax only needs a readable file: the dial fails first
    run = subprocess.run([efax, "-d", dev_a, "-o1", "-v", "ewinchrtf", "-t", "999", str(page)],
                         capture_output=True, text=True, timeout=60)
    log = run.stdout + run.stderr
    assert "using faxpipe softmodem" in log and "in class 1" in log, log
    assert 'command  "D999"' in log and 'response "NO CARRIER"' in log, log
    assert run.returncode == 2, log   # efax: unrecoverable error after the failed dial


@pytest.mark.oracle
def test_efax_sends_to_efax_through_the_pair(tmp_path):
    """A whole efax → efax Class 1 call over two pty softmodems (line time 4× faster)."""
    efax, efix = require_tool("efax"), require_tool("efix")
    text = tmp_path / "page.txt"
    text.write_text("faxpipe softmodem: efax to efax\n")
    subprocess.run([efix, "-ofax", "-n", str(tmp_path / "page.%03d"), str(text)], check=True,
                   capture_output=True, timeout=60)
    with serve_pair(4) as ((dev_a, _), (dev_b, num_b)):
        receiver = subprocess.Popen([efax, "-d", dev_b, "-o1", "-w", "-iS0=1", "-v", "ewinchrtf",
                                     "-r", str(tmp_path / "rx")], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(1.0)
            sender = subprocess.run([efax, "-d", dev_a, "-o1", "-v", "ewinchrtf", "-t", num_b,
                                     str(tmp_path / "page.001")], capture_output=True, text=True, timeout=120)
            rx_log = receiver.communicate(timeout=30)[0]
        finally:
            receiver.kill()
    tx_log = sender.stdout + sender.stderr
    assert sender.returncode == 0, tx_log
    assert "received MCF - page OK" in tx_log, tx_log
    assert receiver.returncode == 0, rx_log
    assert (tmp_path / "rx.001").stat().st_size > 1000, rx_log


def test_pty_data_with_dle_round_trips(pty_pair):
    (dev_a, _), (dev_b, _) = pty_pair
    pa = serial.Serial(dev_a, 115200, timeout=0.1)
    pb = serial.Serial(dev_b, 115200, timeout=0.1)
    try:
        a, b = ATChannel(pa), ATChannel(pb)
        for ch in (a, b):
            ch.check("ATE0")
            ch.check("AT+FCLASS=1")
        a.write(b"ATD200\r")
        b.wait_result(finals=("RING",))
        assert b.command("ATA").result == "CONNECT"
        send_frames(b, DIS)
        a.wait_result(), a.read_data(), a.wait_result()
        b.write(b"AT+FRM=96\r")
        time.sleep(0.05)
        page = bytes(range(256)) * 8 + b"\x11\x13\x10\x03"
        assert a.command("AT+FTM=96").result == "CONNECT"
        a.send_data(page)
        assert a.wait_result(timeout=10).result == "OK"
        assert b.wait_result().result == "CONNECT"
        assert b.read_data()[:len(page)] == page
        assert b.wait_result().result == "NO CARRIER"
    finally:
        pa.close()
        pb.close()


def test_dle_stuffed_wire_bytes():
    assert dle_stuff(b"\x10") + DLE_ETX == b"\x10\x10\x10\x03"
