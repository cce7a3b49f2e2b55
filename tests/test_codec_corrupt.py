"""Hostile input for the G3/G4 decoder: truncated streams, flipped bits, garbage, all-zero and
all-one bytes, EOL storms, absurd geometry, too few rows, and corrupt rows in the middle.

Every case states its outcome: a CodecError, or the exact rows, bad-row counts and termination
the decoder must report (a corrupt MH/MR row is replaced by the previous good row, counted, and
decoding resumes at the next EOL; in MR the 2-D rows that follow it until the next 1-D row are
bad as well; an MMR error ends the page). Every test runs in well under TIME_LIMIT seconds, and a
watchdog ends the process if the C code hangs.
"""

from __future__ import annotations

import numpy as np
import pytest

from codec_bits import (
    BLACK, EOFB, EOL, HORIZONTAL, RTC_MH, RTC_MR, V0, WHITE, Watchdog, eol_positions, pack,
    page_from_array, page_rows, reverse_bits, sub_page, unpack,
)
from faxpipe.codec import _t4, decode, encode
from faxpipe.errors import CodecError
from faxpipe.page import MAX_HEIGHT, MAX_WIDTH, Page

SCHEMES = ["mh", "mr", "mmr"]


@pytest.fixture(autouse=True)
def time_limit():
    with Watchdog():
        yield


def sample_page(width: int = 37, height: int = 6, seed: int = 7) -> Page:
    """Rows of random runs that differ from each other, and one all-white and one all-black."""
    rng = np.random.default_rng(seed)
    pixels = np.zeros((height, width), bool)
    for y in range(height):
        pixels[y] = np.repeat(rng.integers(0, 2, width // 3 + 1), 3)[:width].astype(bool)
    if height > 3:
        pixels[1] = False
        pixels[3] = True
    return page_from_array(pixels)


def check_stats(dec, data: bytes, limit: int = MAX_HEIGHT):
    """What holds for every decode, whatever the input."""
    page, stats = dec
    assert stats.rows == page.height <= limit
    assert 0 <= stats.consecutive_bad_rows <= stats.bad_rows <= stats.rows
    assert (stats.bad_rows == 0) == (stats.consecutive_bad_rows == 0)
    assert 0 <= stats.bytes_used <= len(data)


def check_hostile(data: bytes, scheme: str, width: int, byte_align: bool = False):
    """Metamorphic checks of one decode of arbitrary bytes: the same result twice; LSB-first is
    the byte mirror of MSB-first; max_height keeps a prefix of the rows; height pads with white
    rows counted as bad."""
    full = decode(data, scheme, width, byte_align=byte_align)
    check_stats(full, data)
    assert decode(data, scheme, width, byte_align=byte_align) == full
    mirrored = decode(reverse_bits(data), scheme, width, bit_order="lsb", byte_align=byte_align)
    assert mirrored == full
    rows = page_rows(full.page)
    limit = len(rows) // 2
    cut = decode(data, scheme, width, max_height=limit, byte_align=byte_align)
    check_stats(cut, data, limit)
    assert page_rows(cut.page) == rows[:limit]
    height = len(rows) + 3
    padded = decode(data, scheme, width, height=height, byte_align=byte_align)
    assert page_rows(padded.page) == rows + [bytes(full.page.stride)] * 3
    assert padded.stats.bad_rows == full.stats.bad_rows + 3
    return full


# ------------------------------------------------------------------------------ truncation


@pytest.mark.parametrize("bit_order", ["msb", "lsb"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_prefix(scheme, bit_order):
    """A stream cut after p bytes yields exactly the rows complete in those bytes, plus at most
    one bad row for the partial row; with ``height`` the rest are counted as bad."""
    page = sample_page()
    opts = dict(k=2, bit_order=bit_order)
    data = encode(page, scheme, **opts)
    # ends[r]: bytes holding the first r rows (encoder has no look-ahead: a prefix of `data`)
    ends = [len(encode(sub_page(page, r), scheme, rtc=False, **opts)) for r in range(page.height + 1)]
    original = page_rows(page)
    for p in range(len(data) + 1):
        got, stats = decode(data[:p], scheme, page.width, bit_order=bit_order)
        complete = max(r for r in range(page.height + 1) if ends[r] <= p)
        assert got.height in (complete, complete + 1), p
        assert page_rows(got)[:complete] == original[:complete], p
        if got.height == complete + 1:  # the partial row: bad, a copy of the last good row
            assert stats.bad_rows == stats.consecutive_bad_rows == 1, p
            assert got.row(complete) == (original[complete - 1] if complete else bytes(page.stride))
        else:
            assert stats.bad_rows == 0, p
        if stats.terminated:  # RTC / EOFB seen: only after the last row
            assert complete == page.height and got.height == page.height, p

        padded = decode(data[:p], scheme, page.width, height=page.height, bit_order=bit_order)
        assert padded.page.height == page.height
        assert page_rows(padded.page)[:complete] == original[:complete]
        assert padded.stats.bad_rows == page.height - complete, p
    assert decode(data, scheme, page.width, bit_order=bit_order).stats.terminated


# ------------------------------------------------------------------------------ flipped bits


@pytest.mark.parametrize("scheme", SCHEMES)
def test_flipped_bits(scheme):
    """Seeded single, double and burst bit errors: every row that lies wholly before the first
    error decodes exactly; whatever follows, the stats are consistent and the page is bounded."""
    rng = np.random.default_rng(2024)
    page = sample_page(width=61, height=10)
    data = encode(page, scheme, k=4)
    ends = [len(encode(sub_page(page, r), scheme, rtc=False, k=4)) for r in range(page.height + 1)]
    bits = np.unpackbits(np.frombuffer(data, np.uint8))
    for trial in range(300):
        flipped = bits.copy()
        first = int(rng.integers(0, len(bits)))
        if trial % 3 == 0:
            positions = [first]
        elif trial % 3 == 1:
            positions = [first, int(rng.integers(first, len(bits)))]
        else:
            positions = list(range(first, min(len(bits), first + int(rng.integers(2, 24)))))
        flipped[positions] ^= 1
        corrupt = np.packbits(flipped).tobytes()
        safe = max(r for r in range(page.height + 1) if ends[r] * 8 <= first)
        got, stats = check_hostile(corrupt, scheme, page.width)
        assert page_rows(got)[:safe] == page_rows(page)[:safe], (trial, positions)
        assert got.height <= len(corrupt) * 8 + 1  # every row costs at least one bit
        fixed = decode(corrupt, scheme, page.width, height=page.height)
        assert fixed.page.height == page.height
        assert page_rows(fixed.page)[:safe] == page_rows(page)[:safe]


# ------------------------------------------------------------------------------ garbage


@pytest.mark.parametrize("scheme", SCHEMES)
def test_garbage(scheme):
    """Random bytes of random lengths at random widths, both bit orders, with and without byte
    alignment: the metamorphic checks of check_hostile hold."""
    rng = np.random.default_rng(99)
    for _ in range(150):
        size = int(rng.choice([0, 1, 2, 3, 17, 100, 1000, 4096]))
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        width = int(rng.choice([1, 8, 13, 200, 1728, 2561, MAX_WIDTH]))
        check_hostile(data, scheme, width, byte_align=scheme != "mr" and bool(rng.integers(2)))


def test_garbage_with_eols():
    """Random bytes with EOLs sprinkled in, so that the MH / MR decoder keeps resynchronising."""
    rng = np.random.default_rng(5)
    for _ in range(60):
        pieces = []
        for _ in range(int(rng.integers(1, 40))):
            pieces.append(EOL + ("1" if rng.integers(2) else "0"))
            pieces.append("".join(rng.choice(["0", "1"], int(rng.integers(0, 60)))))
        data = pack("".join(pieces))
        for scheme in ("mh", "mr"):
            check_hostile(data, scheme, int(rng.choice([1, 30, 1728])))


# ------------------------------------------------------------------------------ constant bytes


@pytest.mark.parametrize("scheme", SCHEMES)
def test_all_zero_bytes(scheme):
    """Zeros are EOL fill that never ends: MH / MR give no row; in MMR they are no valid code,
    so the first row is bad and ends the page."""
    data = bytes(5000)
    got, stats = check_hostile(data, scheme, 1728)
    if scheme == "mmr":
        assert (stats.rows, stats.bad_rows, stats.consecutive_bad_rows) == (1, 1, 1)
        assert got.data == bytes(216)  # no good row before it: white
    else:
        assert (stats.rows, stats.bad_rows) == (0, 0)
    assert not stats.terminated
    padded = decode(data, scheme, 1728, height=10)
    assert padded.page.data == bytes(2160)
    assert padded.stats.bad_rows == 10


def test_all_zero_bytes_padded_mmr_run_of_bad_rows_is_consecutive():
    """One bad row followed by missing rows is one run of bad rows."""
    stats = decode(bytes(100), "mmr", 40, height=5).stats
    assert (stats.bad_rows, stats.consecutive_bad_rows) == (5, 5)


def test_all_one_bytes():
    """A 1 bit is white run 7 + black run 2 in MH ("1111" "11", width 9), V0 in 2-D mode: in MMR
    over a white row above it is a whole white row; in MR without EOLs the first row is 1-D and
    every further "11" repeats the row above."""
    data = b"\xff" * 3
    row = bytes([0x01, 0x80])  # 7 white, 2 black
    got, stats = check_hostile(data, "mh", 9)
    assert got.data == row * 4 and (stats.rows, stats.bad_rows, stats.terminated) == (4, 0, False)
    got, stats = check_hostile(data, "mr", 9)
    assert got.data == row * 10 and (stats.rows, stats.bad_rows) == (10, 0)
    for width in (1, 1728, MAX_WIDTH):
        got, stats = decode(b"\xff" * 100, "mmr", width)
        assert (stats.rows, stats.bad_rows, stats.terminated) == (800, 0, False)
        assert got.data == bytes(800 * got.stride)
    assert decode(b"\xff" * 100, "mmr", 1728, max_height=77).stats.rows == 77
    # the row bound is MAX_HEIGHT whatever the data says
    assert decode(b"\xff" * 9000, "mmr", 8).stats.rows == MAX_HEIGHT


# ------------------------------------------------------------------------------ EOL storms


@pytest.mark.parametrize("scheme,eol", [("mh", EOL), ("mr", EOL + "1"), ("mmr", EOL)])
@pytest.mark.parametrize("fill", [False, True])
def test_eol_storm(scheme, eol, fill):
    """A hundred thousand EOLs: the page ends at once (RTC / EOFB) with no row, in linear time."""
    unit = ("0000" if fill else "") + eol
    data = pack(unit * 100_000)
    got, stats = decode(data, scheme, 1728)
    if scheme == "mmr" and fill:  # T.6 has no fill: EOFB is two adjacent EOLs, else no code
        assert (stats.rows, stats.bad_rows, stats.terminated) == (1, 1, False)
        return
    assert (stats.rows, stats.bad_rows, stats.terminated) == (0, 0, True)
    assert 0 < stats.bytes_used <= len(data)
    check_stats((got, stats), data)


@pytest.mark.parametrize("scheme,tag", [("mh", ""), ("mr", "1")])
def test_single_eols_between_rows(scheme, tag):
    """Ten thousand rows, each behind one EOL, with long zero fill before every EOL."""
    row = WHITE[7] + BLACK[2]  # width 9
    data = pack(("0" * 300 + EOL + tag + row) * 10_000 + (EOL + tag) * 6)
    got, stats = decode(data, scheme, 9)
    assert (stats.rows, stats.bad_rows, stats.terminated) == (10_000, 0, True)
    assert got.data == bytes([0x01, 0x80]) * 10_000


def test_huge_fill_before_first_eol():
    data = bytes(2_000_000) + pack(EOL + WHITE[7] + BLACK[2] + RTC_MH)
    got, stats = decode(data, "mh", 9)
    assert (stats.rows, stats.bad_rows, stats.terminated) == (1, 0, True)
    assert stats.bytes_used == len(data)


# ------------------------------------------------------------------------------ geometry


@pytest.mark.parametrize("width", [0, -1, MAX_WIDTH + 1, 10**9, -(2**31)])
def test_absurd_width_is_refused(width):
    with pytest.raises(CodecError):
        decode(b"\xff" * 10, "mmr", width)


@pytest.mark.parametrize("kwargs", [dict(height=-1), dict(height=MAX_HEIGHT + 1),
                                    dict(height=10**9), dict(max_height=-1),
                                    dict(max_height=MAX_HEIGHT + 1)])
def test_absurd_height_is_refused(kwargs):
    with pytest.raises(CodecError):
        decode(b"\xff" * 10, "mmr", 8, **kwargs)


@pytest.mark.parametrize("pad", [False, True])
@pytest.mark.parametrize("args", [
    (b"", 0, 10, 0), (b"", MAX_WIDTH + 1, 10, 0), (b"", -(2**31), 10, 0),
    (b"", 8, -1, 0), (b"", 8, MAX_HEIGHT + 1, 0), (b"", 8, 10, 3), (b"", 8, 10, -1),
])
def test_glue_refuses_what_python_would(args, pad):
    """_t4.decode(data, width, max_rows, scheme, lsb_first, byte_align, pad) checks its
    arguments itself, before sizing any buffer from them, and raises CodecError."""
    with pytest.raises(CodecError):
        _t4.decode(*args, False, False, pad)


@pytest.mark.parametrize("args", [
    (b"\x00", 8, 1, 1, 0, True, False, True, False, 0, False),    # K = 0
    (b"\x00", 8, 1, 3, 2, True, False, True, False, 0, False),    # scheme 3
    (b"\x00", 8, 1, 0, 2, True, False, True, False, -1, False),   # min_bits < 0
    (b"\x00", 8, 2, 0, 2, True, False, True, False, 0, False),   # rows shorter than the page
    (b"", 2**31 - 1, 1, 0, 2, True, False, True, False, 0, False),
])
def test_glue_encode_refuses_bad_arguments(args):
    with pytest.raises(CodecError):
        _t4.encode(*args)


def test_byte_align_with_eols_is_refused():
    """byte_align is for streams without EOLs: MR always has them, MH by default."""
    with pytest.raises(CodecError):
        decode(b"\x00\x01", "mr", 8, byte_align=True)
    with pytest.raises(CodecError):
        encode(Page.blank(8, 1), "mr", byte_align=True)
    with pytest.raises(CodecError):
        encode(Page.blank(8, 1), "mh", byte_align=True)
    assert encode(Page.blank(8, 1), "mh", eol=False, byte_align=True, rtc=False) == b"\x98"


def test_unknown_scheme_and_bit_order():
    with pytest.raises(CodecError):
        decode(b"", "g5", 8)
    with pytest.raises(CodecError):
        decode(b"", "mh", 8, bit_order="middle")
    with pytest.raises(CodecError):
        encode(Page.blank(8, 1), "mr", k=0)


def test_empty_stream_at_the_largest_geometry_is_cheap():
    got, stats = decode(b"", "mh", MAX_WIDTH, max_height=MAX_HEIGHT)
    assert (stats.rows, stats.bad_rows, stats.terminated) == (0, 0, False)
    got, stats = decode(b"", "mmr", 64, height=MAX_HEIGHT)
    assert (got.height, stats.bad_rows, stats.consecutive_bad_rows) == (MAX_HEIGHT,) * 3


# ------------------------------------------------------------------------------ missing rows


@pytest.mark.parametrize("scheme", SCHEMES)
def test_height_larger_than_data(scheme):
    page = sample_page(height=5)
    data = encode(page, scheme)
    got, stats = decode(data, scheme, page.width, height=12)
    assert page_rows(got)[:5] == page_rows(page)
    assert page_rows(got)[5:] == [bytes(page.stride)] * 7
    assert (stats.rows, stats.bad_rows, stats.consecutive_bad_rows, stats.terminated) == (12, 7, 7, True)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_height_smaller_than_data(scheme):
    page = sample_page(height=5)
    got, stats = decode(encode(page, scheme), scheme, page.width, height=3)
    assert page_rows(got) == page_rows(page)[:3]
    assert (stats.rows, stats.bad_rows, stats.terminated) == (3, 0, False)


# ------------------------------------------------------------------------------ corrupt rows

W = 40  # narrower than the 64-pel make-up code, so "64 + 0" overruns the row
BAD_1D = {
    "overlong-run": WHITE[64] + WHITE[0],
    "short-row": WHITE[3],            # then the next EOL: the row ends early
    "invalid-code": "0000000001" + "1",  # nine zeros: no code, and no EOL either
}
BAD_2D = {
    "overlong-run": HORIZONTAL + WHITE[64] + WHITE[0] + BLACK[0],
    "short-row": HORIZONTAL + WHITE[3] + BLACK[2],
    "invalid-code": "0000000001" + "1",
}


def splice_row(bits: str, y: int, bad: str, tagged: bool) -> str:
    """Replace the codes of row y (after its EOL, and tag bit in MR) by `bad`; the zeros that
    lead into the next EOL stay."""
    eols = eol_positions(bits)
    start = eols[y][1] + (1 if tagged else 0)
    return bits[:start] + bad + bits[eols[y + 1][0]:]


@pytest.mark.parametrize("fill", [True, False], ids=["fill", "nofill"])
@pytest.mark.parametrize("bit_order", ["msb", "lsb"])
@pytest.mark.parametrize("kind", list(BAD_1D))
@pytest.mark.parametrize("y", [0, 3, 7])
def test_corrupt_mh_row_resynchronises(y, kind, bit_order, fill):
    page = sample_page(width=W, height=8)
    bits = unpack(encode(page, "mh", fill=fill))
    data = pack(splice_row(bits, y, BAD_1D[kind], tagged=False), bit_order == "lsb")
    got, stats = decode(data, "mh", W, bit_order=bit_order)
    expected = page_rows(page)
    expected[y] = expected[y - 1] if y else bytes(page.stride)
    assert page_rows(got) == expected
    assert (stats.rows, stats.bad_rows, stats.consecutive_bad_rows, stats.terminated) == (8, 1, 1, True)


def corrupt_mr(y: int, kind: str, fill: bool):
    """A 9-row page coded MR with K = 3 (rows 0, 3, 6 are 1-D), row y corrupt."""
    page = sample_page(width=W, height=9)
    bits = unpack(encode(page, "mr", k=3, fill=fill))
    bad = (BAD_1D if y % 3 == 0 else BAD_2D)[kind]
    got, stats = decode(pack(splice_row(bits, y, bad, tagged=True)), "mr", W)
    return page, got, stats, (y // 3 + 1) * 3


@pytest.mark.parametrize("fill", [True, False], ids=["fill", "nofill"])
@pytest.mark.parametrize("kind", list(BAD_1D))
@pytest.mark.parametrize("y", [3, 4, 5, 6])
def test_corrupt_mr_row_resynchronises(y, kind, fill):
    """The corrupt row becomes a copy of the last good row and is counted; every row before it
    and every row from the next 1-D row on decodes exactly; the page keeps its 9 rows."""
    page, got, stats, resume = corrupt_mr(y, kind, fill)
    assert got.height == 9 and stats.terminated
    assert page_rows(got)[:y] == page_rows(page)[:y]
    assert got.row(y) == page.row(y - 1)
    assert page_rows(got)[resume:] == page_rows(page)[resume:]
    assert 1 <= stats.bad_rows <= resume - y


@pytest.mark.parametrize("kind", list(BAD_1D))
@pytest.mark.parametrize("y", [3, 4])
def test_mr_2d_rows_after_a_corrupt_row_are_bad(y, kind):
    """The 2-D rows between a corrupt row and the next 1-D row were coded against a row that is
    lost: they are copies of the last good row and counted as bad, never silently wrong pixels
    counted as good (T.30 copy quality is judged on bad_rows)."""
    page, got, stats, resume = corrupt_mr(y, kind, True)
    expected = page_rows(page)
    expected[y:resume] = [expected[y - 1]] * (resume - y)
    assert page_rows(got) == expected
    bad = resume - y
    assert (stats.rows, stats.bad_rows, stats.consecutive_bad_rows) == (9, bad, bad)


def test_short_row_right_before_eol_keeps_next_row():
    """A row cut short by the next EOL (no fill): that EOL starts the next row, which is kept."""
    # rows 0, 1: 7 white, 2 black; row 2: 3 white, then the EOL; row 3: white 0, black 9
    rows = [WHITE[7] + BLACK[2], WHITE[7] + BLACK[2], WHITE[3], WHITE[0] + "000100"]
    data = pack("".join(EOL + r for r in rows) + RTC_MH)
    got, stats = decode(data, "mh", 9)
    assert page_rows(got) == [bytes([0x01, 0x80])] * 3 + [bytes([0xFF, 0x80])]
    assert (stats.rows, stats.bad_rows, stats.terminated) == (4, 1, True)


@pytest.mark.parametrize("kind", ["overlong-run", "invalid-code"])  # a short 2-D row is valid
def test_corrupt_mmr_row_ends_the_page(kind):
    """White rows are one V0 each over a white reference; an error at row 3 ends the page:
    three good rows, the bad one (a copy of the last good row), and nothing after it."""
    good = V0 * 3
    later = V0 * 4 + EOFB
    data = pack(good + BAD_2D[kind] + later)
    assert encode(Page.blank(W, 3), "mmr", rtc=False) == pack(good)  # V0 per white row
    got, stats = decode(data, "mmr", W)
    assert page_rows(got) == [bytes(5)] * 4
    assert (stats.rows, stats.bad_rows, stats.consecutive_bad_rows, stats.terminated) == (4, 1, 1, False)
    got, stats = decode(data, "mmr", W, height=8)
    assert (stats.rows, stats.bad_rows, stats.consecutive_bad_rows) == (8, 5, 5)


def test_mmr_error_after_real_rows():
    """Same with a real page: the rows before the error are exact."""
    page = sample_page(width=W, height=6)
    head = unpack(encode(page, "mmr", rtc=False))
    # find where the six rows end: the shortest bit prefix that decodes to them with EOFB
    end = next(e for e in range(len(head) - 7, len(head) + 1)
               if decode(pack(head[:e] + EOFB), "mmr", W).page == page)
    data = pack(head[:end] + BAD_2D["overlong-run"] + V0 * 3 + EOFB)
    got, stats = decode(data, "mmr", W)
    assert page_rows(got) == page_rows(page) + [page.row(5)]
    assert (stats.rows, stats.bad_rows, stats.terminated) == (7, 1, False)
