"""faxpipe.t30.frames: FCF notations, DIS/DTC/DCS bit fields (T.30 Table 2), identities, negotiation.

Byte vectors are the frames of spandsp's T.31 test script (freeswitch/spandsp tests/t31_tests.c,
fax_send_test_seq / fax_receive_test_seq): what spandsp's T.30 terminal really puts on the line.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faxpipe.errors import ProtocolError
from faxpipe.page import Resolution
from faxpipe.t30.completion import Completion, FrameError, T30Error
from faxpipe.t30.frames import (DCS, DCS_SCAN_TIMES, DIS, FALLBACK, FCF, Frame, Length, Modems, Rate, Width,
                                acceptable, bits_from_fif, common_rates, decode_ident, describe_fcf,
                                encode_ident, fif_from_bits, from_itu_notation, ident_frame, itu_notation,
                                lookup_fcf, negotiate, next_rate)
from faxpipe.t30.hdlc import parse_frame

# spandsp tests/t31_tests.c: frames as its Class 1 modem hands them to the DTE (with FCS)
SPANDSP_CSI = bytes.fromhex("FF0340" + "31" * 8 + "20" * 12 + "1E46")
SPANDSP_DIS = bytes.fromhex("FF1380 00EEF880809980808018 580D")
SPANDSP_TSI = bytes.fromhex("FF0343" + "31" * 8 + "20" * 12 + "AA1F")
SPANDSP_CFR = bytes.fromhex("FF1384EA7D")
SPANDSP_MCF = bytes.fromhex("FF138CA2F1")
SPANDSP_EOP = bytes.fromhex("FF132F3366")
SPANDSP_DCN = bytes.fromhex("FF13FB9AF6")
# ... and as a DTE sends them after +FTH=3 (no FCS): the DCS a sender chose against that DIS
SPANDSP_DCS = bytes.fromhex("FF138301C68080808001")
SPANDSP_RX_DIS = bytes.fromhex("FF138001CEF48080818080 8018")


# --- FCF notation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fcf,itu", [  # fax-protocol.md §4.1 table, both columns
    (FCF.DIS, 0x01), (FCF.DTC, 0x81), (FCF.CSI, 0x02), (FCF.CIG, 0x82), (FCF.NSF, 0x04), (FCF.NSC, 0x84),
    (FCF.DCS, 0x41), (FCF.TSI, 0x42), (FCF.NSS, 0x44), (FCF.CFR, 0x21), (FCF.FTT, 0x22),
    (FCF.EOM, 0x71), (FCF.MPS, 0x72), (FCF.EOP, 0x74), (FCF.PRI_EOM, 0x79), (FCF.PRI_MPS, 0x7A),
    (FCF.PRI_EOP, 0x7C), (FCF.MCF, 0x31), (FCF.RTN, 0x32), (FCF.RTP, 0x33), (FCF.PIN, 0x34), (FCF.PIP, 0x35),
    (FCF.DCN, 0x5F), (FCF.CRP, 0x58),
])
def test_fcf_in_both_notations(fcf, itu):
    assert fcf.itu == itu
    assert from_itu_notation(itu) == fcf.value
    assert itu_notation(fcf.value) == itu


def test_x_bit_is_the_serial_lsb():
    # efax as caller sends DCS 0x83 and EOP 0x2F; spandsp's caller sends DCN 0xFB (fax-protocol.md §4.1)
    assert lookup_fcf(0x83) == (FCF.DCS, True)
    assert lookup_fcf(0x2F) == (FCF.EOP, True)
    assert lookup_fcf(0xFB) == (FCF.DCN, True)
    assert lookup_fcf(0x82) == (FCF.DCS, False)
    assert Frame(fcf=FCF.DCS, x=True).encode() == b"\xff\x13\x83"
    assert Frame(fcf=FCF.DCS, x=True).fcf_octet == 0x83
    assert itu_notation(0x83) == 0xC1  # T.30 writes DCS with X as 1100 0001


def test_dis_group_has_no_x_bit():
    assert lookup_fcf(0x81) == (FCF.DTC, False)   # not "DIS with X"
    assert lookup_fcf(0x41) == (FCF.CIG, False)
    with pytest.raises(ValueError):
        Frame(fcf=FCF.DIS, x=True)


def test_control_fields_in_both_notations():
    assert itu_notation(0x03) == 0xC0 and itu_notation(0x13) == 0xC8
    assert Frame(fcf=FCF.CSI, final=False).encode()[:2] == b"\xff\x03"
    assert Frame(fcf=FCF.DIS).encode()[:2] == b"\xff\x13"


def test_describe_fcf_prints_both_notations():
    assert describe_fcf(0x83) == "DCS X=1 (serial 0x83, T.30 0xC1)"
    assert describe_fcf(0x80) == "DIS (serial 0x80, T.30 0x01)"
    assert "unknown" in describe_fcf(0x00)


@pytest.mark.parametrize("octet", [0x00, 0x02, 0x7E, 0xFF, 0x07])
def test_unknown_fcf_is_a_frame_error(octet):
    with pytest.raises(FrameError) as info:
        Frame.decode(bytes((0xFF, 0x13, octet)))
    assert isinstance(info.value, ProtocolError)
    assert f"0x{octet:02X}" in str(info.value)


@pytest.mark.parametrize("data,why", [
    (b"", "at least"), (b"\xff", "at least"), (b"\xff\x13", "at least"),
    (b"\xfe\x13\x80", "address"), (b"\xff\x00\x80", "control"), (b"\xff\xc8\x80", "control"),
])
def test_malformed_frames(data, why):
    with pytest.raises(FrameError, match=why):
        Frame.decode(data)


@given(st.binary(max_size=40))
def test_garbage_never_crashes_the_frame_parser(data):
    try:
        frame = Frame.decode(data)
    except FrameError:
        return
    assert frame.encode() == data


# --- spandsp's frames -----------------------------------------------------------------------------

def test_spandsp_dis_vector():
    frame = parse_frame(SPANDSP_DIS)
    assert frame.fcf is FCF.DIS and frame.final and not frame.x
    dis = DIS.decode(frame.fif)
    assert dis.modems is Modems.V27TER_V29_V17 and dis.ready_to_receive and not dis.ready_to_transmit
    assert dis.fine and dis.two_d and dis.superfine
    assert dis.width is Width.A4 and dis.length is Length.UNLIMITED
    assert dis.min_scan_code == 7 and dis.min_scan_ms(Resolution.FINE) == 0
    assert not dis.ecm and not dis.t6
    assert dis.inch_preferred and dis.metric_preferred and dis.letter and dis.legal
    assert dis.other_bits == frozenset()
    assert dis.frame().encode() == SPANDSP_DIS[:-2]  # built from the named fields, byte for byte


def test_spandsp_receiver_dis_vector():
    dis = DIS.decode(Frame.decode(SPANDSP_RX_DIS).fif)
    # 0xCE: bits 10, 11, 12, 15, 16 → V.27ter + V.29, fine, 2-D; 0xF4: bit 19 (B4), 21-23 (0 ms), 24
    assert dis.modems is Modems.V27TER_V29 and dis.fine and dis.two_d
    assert dis.length is Length.B4 and dis.min_scan_code == 7 and dis.other_bits == {1}
    assert dis.frame().encode() == SPANDSP_RX_DIS


def test_spandsp_dcs_vector():
    frame = Frame.decode(SPANDSP_DCS)
    assert frame.fcf is FCF.DCS and frame.x
    dcs = DCS.decode(frame.fif)
    assert dcs.rate is Rate.V29_9600 and dcs.rate.class1_code(long_training=True) == 96  # the script's +FTM=96
    assert dcs.receive and dcs.fine and dcs.two_d and dcs.coding == "mr"
    assert dcs.min_scan_ms == 20 and dcs.width is Width.A4 and dcs.length is Length.A4
    assert dcs.other_bits == {1, 49}  # kept, so the frame rebuilds exactly
    assert dcs.frame().encode() == SPANDSP_DCS


@pytest.mark.parametrize("raw,fcf,x", [
    (SPANDSP_CFR, FCF.CFR, False), (SPANDSP_MCF, FCF.MCF, False),
    (SPANDSP_EOP, FCF.EOP, True), (SPANDSP_DCN, FCF.DCN, True),
])
def test_spandsp_short_frames(raw, fcf, x):
    frame = parse_frame(raw)
    assert (frame.fcf, frame.x, frame.final, frame.fif) == (fcf, x, True, b"")


def test_spandsp_identities():
    csi = parse_frame(SPANDSP_CSI)
    assert csi.fcf is FCF.CSI and not csi.final
    assert decode_ident(csi.fif) == "11111111"
    tsi = parse_frame(SPANDSP_TSI)
    assert tsi.fcf is FCF.TSI and tsi.x
    # spandsp pads after the digits on the wire: the identity reads right-aligned, last char first
    assert encode_ident("            11111111") == csi.fif


# --- identities -----------------------------------------------------------------------------------

def test_identity_is_sent_last_character_first():
    fif = encode_ident("+1 555 0100")
    assert len(fif) == 20
    assert fif == b"         0010 555 1+"
    assert decode_ident(fif) == "+1 555 0100"
    assert ident_frame(FCF.TSI, "+1 555 0100", x=True).encode()[:3] == b"\xff\x03\x43"


@pytest.mark.parametrize("bad", ["123456789012345678901", "abc", "12-34"])
def test_bad_identities(bad):
    with pytest.raises(ValueError):
        encode_ident(bad)


def test_decode_ident_is_lenient():
    assert decode_ident(b"\x00\xff1") == "1??"


@given(st.text(alphabet="0123456789+ ", max_size=20))
def test_identity_round_trip(ident):
    assert decode_ident(encode_ident(ident)) == ident.strip()


# --- DIS / DCS bit fields -------------------------------------------------------------------------

def test_bit_numbering_and_extension_bits():
    # bit n lives in octet (n-1)//8 at serial value 1 << ((n-1) % 8) (fax-protocol.md §4.2)
    assert fif_from_bits({10}) == b"\x00\x02\x00"
    assert fif_from_bits({27}) == b"\x00\x00\x80\x04"      # bit 24 says "another octet follows"
    assert fif_from_bits({41}) == b"\x00\x00\x80\x80\x80\x01"  # octet 6
    assert bits_from_fif(b"\x00\x00\x80\x04") == {27}
    assert bits_from_fif(b"\x00\x00\x00\x04") == frozenset()  # no extension bit: octet 4 ignored


def test_short_fif_is_refused():
    with pytest.raises(FrameError, match="at least 3"):
        DIS.decode(b"\x00\x02")


def test_rate_codes_follow_the_table():
    # DCS bits 11, 12, 13, 14 (fax-protocol.md §4.2; spandsp t30.c:418-430)
    expected = {Rate.V27_2400: "0000", Rate.V27_4800: "0100", Rate.V29_9600: "1000", Rate.V29_7200: "1100",
                Rate.V17_14400: "0001", Rate.V17_12000: "0101", Rate.V17_9600: "1001", Rate.V17_7200: "1101"}
    for rate, code in expected.items():
        bits = bits_from_fif(DCS(rate=rate).encode())
        assert "".join(str(int(n in bits)) for n in range(11, 15)) == code


def test_reserved_codes_are_frame_errors():
    reserved_rate = fif_from_bits({10, 11, 12, 13, 14})
    with pytest.raises(FrameError, match="reserved"):
        DIS.decode(reserved_rate)
    with pytest.raises(FrameError, match="scan"):
        DCS.decode(fif_from_bits({10, 21, 22}))  # DCS scan code 3 is reserved
    with pytest.raises(FrameError, match="width"):
        DCS.decode(fif_from_bits({10, 17, 18}))


def test_class1_codes():
    assert [r.class1_code(long_training=True) for r in FALLBACK] == [145, 121, 97, 96, 73, 72, 48, 24]
    assert [r.class1_code(long_training=False) for r in FALLBACK] == [146, 122, 98, 96, 74, 72, 48, 24]


_free_bits = st.frozensets(st.integers(1, 120).filter(
    lambda b: not (b >= 24 and b % 8 == 0) and b not in {9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                                        23, 26, 27, 28, 31, 41, 44, 45, 46, 76, 77}), max_size=6)

dis_strategy = st.builds(
    DIS, ready_to_transmit=st.booleans(), ready_to_receive=st.booleans(), modems=st.sampled_from(Modems),
    fine=st.booleans(), two_d=st.booleans(), width=st.sampled_from(Width), length=st.sampled_from(Length),
    min_scan_code=st.integers(0, 7), uncompressed=st.booleans(), ecm=st.booleans(), t6=st.booleans(),
    superfine=st.booleans(), inch_preferred=st.booleans(), metric_preferred=st.booleans(),
    superfine_half_scan=st.booleans(), letter=st.booleans(), legal=st.booleans(),
    other_bits=_free_bits.map(lambda s: s - {28}))

dcs_strategy = st.builds(
    lambda res, **kw: DCS(fine=res == 1, superfine=res == 2, **kw),
    res=st.integers(0, 2), rate=st.sampled_from(Rate), two_d=st.booleans(), width=st.sampled_from(Width),
    length=st.sampled_from(Length), min_scan_ms=st.sampled_from(sorted(DCS_SCAN_TIMES.values())),
    uncompressed=st.booleans(), ecm=st.booleans(), ecm_frame_64=st.booleans(), t6=st.booleans(),
    inch_based=st.booleans(), other_bits=_free_bits.map(lambda s: s - {45, 46, 76, 77}))


@given(dis_strategy)
def test_dis_round_trip(dis):
    fif = dis.encode()
    assert DIS.decode(fif) == dis
    assert Frame.decode(dis.frame().encode()).fif == fif
    assert fif_from_bits(bits_from_fif(fif)) == fif


@given(dcs_strategy)
def test_dcs_round_trip(dcs):
    assert DCS.decode(dcs.encode()) == dcs


@given(st.binary(min_size=3, max_size=20))
def test_fif_parse_rebuild_is_stable(fif):
    """Whatever parses, rebuilds into a FIF that parses to the same fields."""
    for cls in (DIS, DCS):
        try:
            value = cls.decode(fif)
        except FrameError:
            continue
        assert cls.decode(value.encode()) == value


def test_named_bits_cannot_hide_in_other_bits():
    with pytest.raises(ValueError):
        DIS(other_bits={27})
    with pytest.raises(ValueError):
        DCS(other_bits={24})
    with pytest.raises(ValueError):
        DCS(fine=True, superfine=True)
    with pytest.raises(ValueError):
        DCS(min_scan_ms=15)


# --- negotiation ----------------------------------------------------------------------------------

def test_fastest_common_rate_and_fallback_order():
    local, remote = DIS(), DIS()
    assert common_rates(local, remote) == FALLBACK
    assert [r.bps for r in FALLBACK] == [14400, 12000, 9600, 9600, 7200, 7200, 4800, 2400]
    assert negotiate(local, remote).rate is Rate.V17_14400
    v29 = DIS(modems=Modems.V27TER_V29)
    assert negotiate(local, v29).rate is Rate.V29_9600
    assert next_rate(Rate.V29_9600, local, v29) is Rate.V29_7200
    assert next_rate(Rate.V27_2400, local, v29) is None
    assert negotiate(DIS(modems=Modems.V27TER), DIS()).rate is Rate.V27_4800


def test_min_scan_time_gives_bits_per_line():
    # 14 400 × 20 ms = 288 bits; 7 200 × 20 ms = 144 (fax-protocol.md §4.3)
    remote = DIS(min_scan_code=0)
    assert negotiate(DIS(), remote).min_bits == 288
    assert negotiate(DIS(modems=Modems.V29), remote).rate is Rate.V29_9600
    dcs = negotiate(DIS(), DIS(min_scan_code=3), resolution=Resolution.STANDARD)
    assert (dcs.min_scan_ms, dcs.min_bits) == (20, 288)
    dcs = negotiate(DIS(), DIS(min_scan_code=3), resolution=Resolution.FINE)
    assert (dcs.min_scan_ms, dcs.min_bits) == (10, 144)
    assert negotiate(DIS(), DIS(min_scan_code=7)).min_bits == 0
    slow = DIS(min_scan_code=4)
    assert negotiate(DIS(modems=Modems.V27TER), slow).params.min_bits == 4800 * 40 // 1000


def test_superfine_scan_time_halving():
    both = DIS(superfine=True, min_scan_code=6)
    assert both.min_scan_ms(Resolution.SUPERFINE) == 5
    halves = DIS(superfine=True, min_scan_code=6, superfine_half_scan=True)
    dcs = negotiate(DIS(superfine=True), halves, resolution=Resolution.SUPERFINE)
    assert dcs.superfine and dcs.min_scan_ms == 5  # 2.5 ms needed: 5 ms is the shortest code that does


def test_resolution_width_and_coding_fall_to_what_both_do():
    remote = DIS(fine=False, two_d=False, width=Width.A4)
    dcs = negotiate(DIS(width=Width.A3), remote, resolution=Resolution.FINE, width=2432)
    assert dcs.resolution is Resolution.STANDARD and dcs.coding == "mh" and dcs.width.pels == 1728
    dcs = negotiate(DIS(width=Width.A3, superfine=True), DIS(width=Width.B4, superfine=True),
                    resolution=Resolution.SUPERFINE, width=2432)
    assert dcs.resolution is Resolution.SUPERFINE and dcs.width is Width.B4 and dcs.coding == "mr"
    assert negotiate(DIS(), DIS(), coding="mh").coding == "mh"
    assert negotiate(DIS(), DIS(superfine=True), resolution=Resolution.SUPERFINE).resolution is Resolution.FINE


def test_mmr_only_with_ecm_on_both_sides():
    ecm = DIS(ecm=True, t6=True)
    dcs = negotiate(ecm, ecm, ecm=True)
    assert dcs.coding == "mmr" and dcs.ecm and dcs.min_bits == 0
    assert negotiate(ecm, DIS(ecm=False, t6=True), ecm=True).coding == "mr"
    assert negotiate(ecm, ecm, ecm=False).coding == "mr"


def test_page_params():
    p = negotiate(DIS(), DIS(min_scan_code=0)).params
    assert (p.coding, p.width, p.resolution, p.min_bits, p.ecm, p.rate) == ("mr", 1728, Resolution.FINE, 288, False,
                                                                            Rate.V17_14400)


@pytest.mark.parametrize("remote,why", [
    (DIS(ready_to_receive=False), "not ready"),
])
def test_incompatible(remote, why):
    with pytest.raises(T30Error, match=why) as info:
        negotiate(DIS(), remote)
    assert info.value.completion is Completion.INCOMPATIBLE


def test_no_common_modem():
    with pytest.raises(T30Error, match="no common modem"):
        negotiate(DIS(modems=Modems.V29), DIS(modems=Modems.V27TER))


def test_receiver_checks_a_dcs():
    caps = DIS(modems=Modems.V27TER_V29, fine=False)
    assert acceptable(DCS(rate=Rate.V29_9600), caps) is None
    assert "rate" in acceptable(DCS(rate=Rate.V17_14400), caps)
    assert "fine" in acceptable(DCS(rate=Rate.V29_9600, fine=True), caps)
    assert "ECM" in acceptable(DCS(rate=Rate.V29_9600, ecm=True), caps)
    assert "T.6" in acceptable(DCS(rate=Rate.V29_9600, t6=True), DIS(t6=True))
    assert "width" in acceptable(DCS(rate=Rate.V29_9600, width=Width.B4), caps)
