"""faxpipe.t30.hdlc: FCS-16 (T.30 §5.3.7), bit stuffing and flags, the incremental deframer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faxpipe.t30.completion import FrameError
from faxpipe.t30.frames import FCF, Frame
from faxpipe.t30.hdlc import (MAX_FRAME, Deframer, add_fcs, bits_to_octets, encode_signal, fcs16, fcs_ok,
                              frame_bits, octets_to_bits, parse_frame, strip_fcs, stuff, unstuff)

# Frames with the FCS spandsp's modem computed (freeswitch/spandsp tests/t31_tests.c)
SPANDSP_WITH_FCS = [
    "FF1384EA7D", "FF138CA2F1", "FF132F3366", "FF13FB9AF6", "FF138000EEF880809980808018580D",
    "FF0340" + "31" * 8 + "20" * 12 + "1E46", "FF0343" + "31" * 8 + "20" * 12 + "AA1F",
]


@pytest.mark.parametrize("hexframe", SPANDSP_WITH_FCS)
def test_fcs_matches_spandsp(hexframe):
    raw = bytes.fromhex(hexframe)
    assert add_fcs(raw[:-2]) == raw
    assert fcs_ok(raw)
    assert strip_fcs(raw) == raw[:-2]


def test_fcs_check_value():
    # CRC-16/X.25 ("123456789" → 0x906E), the HDLC FCS
    assert fcs16(b"123456789") == 0x906E


def test_bad_fcs_is_a_frame_error():
    raw = bytearray(bytes.fromhex("FF1384EA7D"))
    raw[2] ^= 0x01
    with pytest.raises(FrameError, match="FCS"):
        parse_frame(bytes(raw))
    with pytest.raises(FrameError, match="octets"):
        parse_frame(b"\xff\x13")
    assert parse_frame(b"\xff\x13\x84", fcs=False).fcf is FCF.CFR


@given(st.binary(max_size=64))
def test_fcs_detects_any_single_bit_error(data):
    framed = bytearray(add_fcs(data))
    assert fcs_ok(framed)
    for i in range(0, len(framed) * 8, 7):
        framed[i // 8] ^= 1 << (i % 8)
        assert not fcs_ok(framed)
        framed[i // 8] ^= 1 << (i % 8)


def test_bits_are_lsb_first():
    assert octets_to_bits(b"\x01\x80") == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert bits_to_octets(octets_to_bits(b"\x7e\xa5")) == b"\x7e\xa5"
    with pytest.raises(ValueError):
        bits_to_octets([1, 0, 1])


def test_stuffing_inserts_a_zero_after_five_ones():
    assert stuff([1] * 5) == [1, 1, 1, 1, 1, 0]
    assert stuff([1] * 6) == [1, 1, 1, 1, 1, 0, 1]
    assert stuff([0, 1, 1, 1, 1, 0]) == [0, 1, 1, 1, 1, 0]
    assert unstuff([1, 1, 1, 1, 1, 0, 1]) == [1] * 6
    with pytest.raises(FrameError):
        unstuff([1] * 6)


@given(st.lists(st.integers(0, 1), max_size=400))
def test_stuffing_round_trip_and_no_flag_inside(bits):
    stuffed = stuff(bits)
    assert unstuff(stuffed) == bits
    text = "".join(map(str, stuffed))
    assert "111111" not in text


@given(st.binary(max_size=300))
def test_stuffed_frame_never_contains_a_flag(data):
    text = "".join(map(str, frame_bits(data)))
    assert "01111110" not in text


def _deframe(line: bytes, *, chunk: int = 1) -> list:
    d = Deframer()
    out = []
    for i in range(0, len(line), chunk):
        out += d.feed(line[i:i + chunk])
    return out


def test_signal_with_preamble_and_two_frames_one_byte_at_a_time():
    frames = [Frame(fcf=FCF.CSI, fif=b"1" * 20, final=False), Frame(fcf=FCF.DIS, fif=b"\x00\xee\x78")]
    line = encode_signal(frames)
    assert line[:38] == b"\x7e" * 38
    for chunk in (1, 2, 3, 7, len(line)):
        got = _deframe(line, chunk=chunk)
        assert [g.ok for g in got] == [True, True]
        assert [g.frame() for g in got] == frames
        assert got[1].data == add_fcs(frames[1].encode())


@settings(max_examples=150)
@given(st.lists(st.binary(min_size=3, max_size=80), min_size=1, max_size=4), st.integers(1, 9))
def test_deframer_round_trip(payloads, chunk):
    line = encode_signal(payloads, preamble_flags=2)
    got = _deframe(line, chunk=chunk)
    assert [g.payload for g in got] == payloads
    assert all(g.ok for g in got)


def test_deframer_reports_bad_fcs_and_keeps_going():
    good = Frame(fcf=FCF.MCF).encode()
    bits = octets_to_bits(b"\x7e") + frame_bits(good)[:-1] + [1 - frame_bits(good)[-1]] + octets_to_bits(b"\x7e")
    bits += frame_bits(good) + octets_to_bits(b"\x7e")
    bits += [1] * (-len(bits) % 8)
    got = _deframe(bits_to_octets(bits))
    assert [g.ok for g in got] == [False, True]
    assert "FCS" in got[0].reason or "octets" in got[0].reason
    with pytest.raises(FrameError):
        got[0].frame()


def test_deframer_abort_and_noise():
    d = Deframer()
    assert d.feed(b"\xff" * 10) == []                 # idle line
    assert d.feed(b"\x7e\x00\x00") == []              # flag, then bits, but no closing flag yet
    got = d.feed(b"\xff\xff")                         # abort
    assert [g.ok for g in got] == [False] and "abort" in got[0].reason
    assert d.feed(encode_signal([Frame(fcf=FCF.CFR).encode()], preamble_flags=1))[0].frame().fcf is FCF.CFR


def test_deframer_bounds_memory():
    d = Deframer()
    out = d.feed(b"\x7e" + b"\x00" * (MAX_FRAME + 10))
    assert [g.reason for g in out] == [f"frame longer than {MAX_FRAME} octets"]
    assert len(d._bits) == 0


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_deframer_on_garbage_never_crashes(noise):
    for got in Deframer().feed(noise):
        if got.ok:
            assert fcs_ok(got.data)
            try:
                got.frame()
            except FrameError:
                pass
        else:
            assert got.reason
