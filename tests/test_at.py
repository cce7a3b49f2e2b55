"""drivers.at: result codes, DLE framing, the AT channel's deadlines and garbage handling, transcripts.

The channel is driven by scripted fake ports (the modem's side is a table of what it answers),
by pyserial's own ``loop://`` (a device that only echoes) and by a pseudo-terminal.
"""

from __future__ import annotations

import os
import random
import time

import pytest
import serial

from drivers.at import (DLE_ETX, ATChannel, DleDecoder, Transcript, dle_stuff, open_port, result_name)
from faxpipe.errors import ModemError


class ScriptedPort:
    """A pyserial-like port: each write is answered by the next scripted reply (bytes or a callable)."""

    def __init__(self, replies=(), *, stream: bytes = b""):
        self.replies = list(replies)
        self.pending = bytearray(stream)
        self.written = bytearray()
        self.timeout = 0.1
        self.xonxoff = self.rtscts = False

    def write(self, data):
        self.written += data
        if self.replies:
            reply = self.replies.pop(0)
            self.pending += reply(data) if callable(reply) else reply
        return len(data)

    @property
    def in_waiting(self):
        return len(self.pending)

    def read(self, size=1):
        if not self.pending:
            time.sleep(min(self.timeout, 0.05))
            return b""
        data = bytes(self.pending[:size])
        del self.pending[:size]
        return data


# --- result codes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, name", [
    ("OK", "OK"), ("CONNECT", "CONNECT"), ("CONNECT 9600", "CONNECT"), ("NO CARRIER", "NO CARRIER"),
    ("ERROR", "ERROR"), ("BUSY", "BUSY"), ("NO ANSWER", "NO ANSWER"), ("NO DIALTONE", "NO DIALTONE"),
    ("+FCERROR", "+FCERROR"), ("RING", "RING"), ("3", None), ("0,1", None), ("OKAY", None), ("CONNECTED", None),
])
def test_result_names_verbose(line, name):
    assert result_name(line) == name


@pytest.mark.parametrize("line, name", [("0", "OK"), ("1", "CONNECT"), ("2", "RING"), ("3", "NO CARRIER"),
                                        ("4", "ERROR"), ("7", "BUSY"), ("8", "NO ANSWER"), ("+F4", "+FCERROR")])
def test_result_names_numeric(line, name):
    assert result_name(line, numeric=True) == name


# --- DLE framing ----------------------------------------------------------------------------------------

def test_dle_stuff_doubles_dle():
    assert dle_stuff(b"\x01\x10\x02\x10\x10") == b"\x01\x10\x10\x02\x10\x10\x10\x10"
    assert dle_stuff(b"\x10\x10\x10", sub=True) == b"\x10\x1a\x10\x10"


def _decode_in_pieces(wire: bytes, rng: random.Random):
    decoder, out, i = DleDecoder(), bytearray(), 0
    while not decoder.done:
        j = min(len(wire), i + rng.randint(1, 7))
        out += decoder.feed(wire[i:j])
        i = j
    return bytes(out), decoder.rest + wire[i:]


@pytest.mark.parametrize("seed", range(40))
def test_dle_round_trip_any_split(seed):
    rng = random.Random(seed)
    data = bytes(rng.choice(b"\x10\x03\x1a\x00\xff\x11\x13A") for _ in range(rng.randint(0, 200)))
    for sub in (False, True):
        wire = dle_stuff(data, sub=sub) + DLE_ETX + b"\r\nOK\r\n"
        got, rest = _decode_in_pieces(wire, rng)
        assert got == data
        assert rest == b"\r\nOK\r\n"


def test_dle_unknown_pairs_dropped_and_counted():
    decoder = DleDecoder()
    assert decoder.feed(b"a\x10xb\x10\x03tail") == b"ab"
    assert decoder.done and decoder.rest == b"tail" and decoder.other_pairs == 1


def test_dle_block_is_bounded():
    decoder = DleDecoder(limit=100)
    with pytest.raises(ModemError, match="longer than 100 bytes"):
        for _ in range(10):
            decoder.feed(b"\x00" * 30)


# --- commands -------------------------------------------------------------------------------------------

def test_command_skips_echo_and_collects_info():
    port = ScriptedPort([b"AT+FCLASS=?\r\r\n0,1\r\n\r\nOK\r\n"])
    r = ATChannel(port).command("AT+FCLASS=?")
    assert (r.result, r.lines, r.ok) == ("OK", ["0,1"], True)
    assert port.written == b"AT+FCLASS=?\r"


def test_query_and_numeric_info_lines_in_verbose_mode():
    port = ScriptedPort([b"\r\n3\r\n\r\nOK\r\n"])
    assert ATChannel(port).query("AT+FTH=?") == "3"


def test_numeric_results_after_atv0():
    port = ScriptedPort([b"0\r", b"4\r"])
    ch = ATChannel(port, numeric=True)
    assert ch.command("ATE0").result == "OK"
    assert ch.command("ATX").result == "ERROR"


def test_ring_is_counted_and_skipped():
    port = ScriptedPort([b"\r\nRING\r\n\r\nRING\r\n\r\nOK\r\n"])
    ch = ATChannel(port)
    assert ch.command("AT").result == "OK"
    assert ch.rings == 2


def test_wait_for_ring():
    port = ScriptedPort(stream=b"\r\nRING\r\n")
    assert ATChannel(port).wait_result(finals=("RING",), timeout=1).result == "RING"


def test_check_raises_on_unexpected_result():
    port = ScriptedPort([b"\r\nERROR\r\n"])
    with pytest.raises(ModemError, match="answered 'ERROR' to 'AT\\+FCLASS=1'"):
        ATChannel(port).check("AT+FCLASS=1")


def test_connect_then_data_with_crlf_split():
    frame = bytes.fromhex("ff 13 80 00 ce f4 10 aa bb")
    port = ScriptedPort([b"\r\nCONNECT\r"])
    ch = ATChannel(port)
    assert ch.command("AT+FRH=3").result == "CONNECT"
    port.pending += b"\n" + dle_stuff(frame) + DLE_ETX + b"\r\nOK\r\n"
    assert ch.read_data(timeout=1) == frame
    assert ch.wait_result(timeout=1).result == "OK"


def test_send_data_stuffs_and_ends():
    port = ScriptedPort()
    ATChannel(port).send_data(b"\xff\x03\x10")
    assert bytes(port.written) == b"\xff\x03\x10\x10\x10\x03"


# --- garbage and silence: clear errors within the deadline ------------------------------------------

def test_silent_device_times_out_with_reason():
    port = ScriptedPort()
    t0 = time.monotonic()
    with pytest.raises(ModemError, match="no final result code to 'ATI' within 0.3 s"):
        ATChannel(port, timeout=0.3).command("ATI")
    assert time.monotonic() - t0 < 1.0


def test_echo_only_device_times_out():
    port = serial.serial_for_url("loop://", timeout=0.1)
    with pytest.raises(ModemError, match="it said nothing"):
        ATChannel(port, timeout=0.3).command("AT")
    port.close()


def test_binary_garbage_is_a_clear_error():
    port = ScriptedPort([bytes(range(0x80, 0xA0)) + b"\r\n"])
    with pytest.raises(ModemError, match="unreadable response"):
        ATChannel(port).command("AT")


def test_endless_line_is_bounded():
    port = ScriptedPort([b"A" * 5000])
    with pytest.raises(ModemError, match="without a line end"):
        ATChannel(port).command("AT")


def test_babbling_modem_is_bounded():
    port = ScriptedPort([b"\r\nblah\r\n" * 200])
    with pytest.raises(ModemError, match="babbling"):
        ATChannel(port).command("AT")


def test_data_without_dle_etx_times_out():
    port = ScriptedPort(stream=b"\x00" * 100)
    t0 = time.monotonic()
    with pytest.raises(ModemError, match="no DLE ETX within 0.3 s after 100 data bytes"):
        ATChannel(port).read_data(timeout=0.3)
    assert time.monotonic() - t0 < 1.0


def test_endless_data_is_bounded():
    port = ScriptedPort(stream=b"\x00" * 5000)
    with pytest.raises(ModemError, match="longer than 1000 bytes"):
        ATChannel(port).read_data(timeout=2, limit=1000)


# --- flow control, modem-control lines on a pty -----------------------------------------------------

def test_flow_control_and_lines_on_a_pty():
    master, slave = os.openpty()
    try:
        port = serial.Serial(os.ttyname(slave), timeout=0.1)
        ch = ATChannel(port)
        ch.flow_control("xonxoff")
        assert port.xonxoff and not port.rtscts
        ch.flow_control("rtscts")
        assert port.rtscts and not port.xonxoff
        ch.flow_control("none")
        assert ch.set_line("dtr", True) in (True, False)   # a pty refuses: no exception either way
        assert ch.line("cts") in (True, False, None)
        with pytest.raises(ValueError):
            ch.flow_control("carrier pigeon")
        port.close()
    finally:
        os.close(master)
        os.close(slave)


# --- transcripts ----------------------------------------------------------------------------------------

def test_transcript_lines_and_data_summary(tmp_path):
    path = tmp_path / "session.log"
    port = ScriptedPort([b"\r\nCONNECT\r\n", b"\r\nOK\r\n"])
    ch = ATChannel(port, transcript=path)
    ch.command("AT+FTM=96")
    ch.send_data(bytes(300))
    ch.wait_result()
    ch.close(failed=False)
    text = path.read_text()
    assert " TX AT+FTM=96" in text and " RX CONNECT" in text and " RX OK" in text
    assert "TX data 300 bytes: 00 00" in text and "..." in text
    first = text.splitlines()[1]
    assert float(first.split()[0]) >= 0


def test_failed_sessions_keep_their_transcript(tmp_path):
    ok, bad = tmp_path / "ok.log", tmp_path / "bad.log"
    t = Transcript(ok, keep="failed")
    t.tx("AT")
    t.close(failed=False)
    assert not ok.exists()
    t = Transcript(bad, keep="failed")
    t.tx("AT")
    t.close(failed=True)
    assert "session FAILED" in bad.read_text()


def test_with_block_failure_keeps_the_transcript(tmp_path):
    path = tmp_path / "call.log"
    with pytest.raises(ModemError):
        with ATChannel(ScriptedPort(), transcript=Transcript(path, keep="failed"), timeout=0.1) as ch:
            ch.command("ATD123")
    text = path.read_text()
    assert "TX ATD123" in text and "ModemError" in text and "session FAILED" in text


def test_open_port_knows_softmodem_urls():
    port = open_port("softmodem://555?exchange=test-at-open")
    try:
        assert ATChannel(port).command("AT").ok
    finally:
        port.close()
