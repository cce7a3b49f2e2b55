"""Property tests of the G3/G4 codec (faxpipe.codec): for random pages and every combination of
options, decode(encode(page)) is the page again, the statistics say so, and the encoder keeps
the promises its options make (fill, minimum line length, bit order).

Pages: all white, all black, checkerboards of random period, random runs, rows that evolve
from the row above (so MR / MMR meet pass and vertical modes), and noise; widths 1..3000
(the extended make-up codes start at 1792 and repeat above 2560) and heights 0..40.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from codec_bits import (
    Watchdog, eol_positions, page_from_array, page_rows, reverse_bits, sub_page, unpack,
)
from faxpipe.codec import SCHEMES, _t4, decode, decode_into, encode
from faxpipe.errors import CodecError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NOTABLE_WIDTHS = [1, 2, 7, 8, 9, 63, 64, 65, 127, 128, 1727, 1728, 1729, 1791, 1792, 1793,
                  2048, 2432, 2559, 2560, 2561, 2623, 2624, 3000]
widths = st.one_of(st.integers(1, 80), st.integers(1, 3000), st.sampled_from(NOTABLE_WIDTHS))
heights = st.integers(0, 40)
KINDS = ["white", "black", "checker", "runs", "evolve", "noise", "mixed"]


def _runs_row(rng: np.random.Generator, width: int, long_runs: bool) -> np.ndarray:
    """A row made of random runs: short ones, and now and then very long ones."""
    row = np.zeros(width, bool)
    x, colour = 0, bool(rng.integers(2))
    while x < width:
        if long_runs and rng.random() < 0.2:
            n = int(rng.integers(1, 3000))
        else:
            n = int(rng.geometric(0.15))
        row[x:x + n] = colour
        x += n
        colour = not colour
    return row


def make_pixels(kind: str, width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "white":
        return np.zeros((height, width), bool)
    if kind == "black":
        return np.ones((height, width), bool)
    if kind == "checker":
        px, py = int(rng.integers(1, 70)), int(rng.integers(1, 10))
        ys, xs = np.indices((height, width))
        return ((xs // px + ys // py) % 2).astype(bool)
    if kind == "runs":
        return np.array([_runs_row(rng, width, True) for _ in range(height)]).reshape(height, width)
    if kind == "evolve":
        pixels = np.zeros((height, width), bool)
        row = _runs_row(rng, width, False)
        for y in range(height):
            row = np.roll(row, int(rng.integers(-4, 5)))
            flips = rng.random(width) < 0.01
            row = row ^ flips
            pixels[y] = row
        return pixels
    if kind == "noise":
        return rng.random((height, width)) < rng.random()
    # mixed: each row from a different kind
    pixels = np.zeros((height, width), bool)
    for y in range(height):
        sub = KINDS[int(rng.integers(0, len(KINDS) - 1))]
        pixels[y] = make_pixels(sub, width, 1, int(rng.integers(1 << 30)))[0]
    return pixels


@st.composite
def pages(draw, max_height: int = 40):
    width, height = draw(widths), draw(st.integers(0, max_height))
    kind = draw(st.sampled_from(KINDS))
    yres = draw(st.sampled_from([98.0, 196.0, 391.0]))
    return page_from_array(make_pixels(kind, width, height, draw(st.integers(0, 2**32 - 1))), yres)


@st.composite
def options(draw):
    scheme = draw(st.sampled_from(["mh", "mr", "mmr"]))
    opts = dict(
        bit_order=draw(st.sampled_from(["msb", "lsb"])),
        rtc=draw(st.booleans()),
        fill=draw(st.booleans()),
        byte_align=False,
    )
    if scheme == "mh":
        opts["eol"] = draw(st.booleans())
    if scheme == "mmr" or not opts.get("eol", True):
        # byte_align is for streams without EOLs (TIFF Compression 2 and MMR); with EOLs it is
        # refused (test_codec_corrupt.py::test_byte_align_with_eols_is_refused)
        opts["byte_align"] = draw(st.booleans())
    if scheme == "mr":
        opts["k"] = draw(st.one_of(st.integers(1, 8), st.sampled_from([None, 1000, 1 << 16])))
    if scheme != "mmr" and opts.get("eol", True):
        opts["min_bits"] = draw(st.sampled_from([0, 0, 1, 12, 13, 96, 193, 1000, 5000]))
    return scheme, opts


@pytest.fixture(autouse=True)
def watchdog():
    with Watchdog(limit=None):
        yield


@SETTINGS
@given(pages(), options())
def test_round_trip(page, scheme_opts):
    scheme, opts = scheme_opts
    data = encode(page, scheme, **opts)
    got, stats = decode(data, scheme, page.width, bit_order=opts["bit_order"],
                        byte_align=opts["byte_align"], xres=page.xres, yres=page.yres)
    assert got.height == page.height
    assert page_rows(got) == page_rows(page)
    assert stats.rows == page.height
    assert stats.bad_rows == 0 and stats.consecutive_bad_rows == 0
    assert stats.terminated == opts["rtc"]
    if opts["rtc"]:
        assert stats.bytes_used == len(data)
    else:
        assert stats.bytes_used <= len(data)


@SETTINGS
@given(pages(), options(), st.data())
def test_height_and_max_height(page, scheme_opts, data):
    """``height`` cuts or pads the page (padding rows are white and counted as bad);
    ``max_height`` only cuts."""
    scheme, opts = scheme_opts
    stream = encode(page, scheme, **opts)
    common = dict(bit_order=opts["bit_order"], byte_align=opts["byte_align"])
    limit = data.draw(st.integers(0, page.height + 5), label="limit")

    cut, stats = decode(stream, scheme, page.width, max_height=limit, **common)
    kept = min(limit, page.height)
    assert page_rows(cut) == page_rows(page)[:kept]
    assert (stats.rows, stats.bad_rows) == (kept, 0)
    if limit < page.height:
        assert not stats.terminated

    padded, stats = decode(stream, scheme, page.width, height=limit, **common)
    missing = max(0, limit - page.height)
    blank = bytes(page.stride)
    assert page_rows(padded) == page_rows(page)[:kept] + [blank] * missing
    assert (stats.rows, stats.bad_rows, stats.consecutive_bad_rows) == (limit, missing, missing)


@SETTINGS
@given(pages(max_height=12), options())
def test_bit_order_is_a_byte_mirror(page, scheme_opts):
    """FillOrder 2 is FillOrder 1 with every byte mirrored, for the encoder and the decoder."""
    scheme, opts = scheme_opts
    opts = dict(opts, bit_order="msb")
    msb = encode(page, scheme, **opts)
    lsb = encode(page, scheme, **dict(opts, bit_order="lsb"))
    assert lsb == reverse_bits(msb)
    got = decode(lsb, scheme, page.width, bit_order="lsb", byte_align=opts["byte_align"])
    assert got.page == page


@SETTINGS
@given(pages(max_height=12), st.sampled_from(["mh", "mr"]), st.booleans(),
       st.sampled_from([0, 50, 97, 300]), st.integers(1, 4))
def test_fill_min_bits_tags_and_rtc(page, scheme, fill, min_bits, k):
    """The layout T.4 prescribes: an EOL before every row; with fill every row's EOL ends on a
    byte boundary (§4.1.2); every coded line, EOL included, has at least min_bits bits (§4.1.3);
    MR tags every EOL with the row's 1-D / 2-D bit, 1-D every K rows (§4.2.1); RTC is six
    adjacent EOLs (MR: each tagged 1), starting on a byte boundary as libtiff writes it, and
    only padding follows (§4.1.4, §4.2.4)."""
    bits = unpack(encode(page, scheme, fill=fill, min_bits=min_bits, k=k))
    eols = eol_positions(bits)
    assert len(eols) == page.height + 6
    if fill:
        assert all(end % 8 == 0 for _, end in eols[:page.height])
        assert (eols[page.height][1] - 12) % 8 == 0
    for y in range(page.height):
        assert eols[y + 1][1] - eols[y][1] >= min_bits  # EOL to next EOL
        if scheme == "mr":
            assert bits[eols[y][1]] == ("1" if y % k == 0 else "0")
    tag = "1" if scheme == "mr" else ""
    rtc = eols[page.height:]
    for (_, end), (next_start, _) in zip(rtc, rtc[1:]):
        assert bits[end:next_start] == tag
    assert bits[rtc[-1][1]:] == tag + "0" * (len(bits) - rtc[-1][1] - len(tag))


@SETTINGS
@given(pages(max_height=10), st.sampled_from(["msb", "lsb"]))
def test_mh_without_eol_byte_aligned_is_tiff_compression_2(page, bit_order):
    """MH, no EOL, no RTC, rows byte aligned: each row's codes start a new byte, so the stream is
    the concatenation of the one-row streams."""
    opts = dict(eol=False, rtc=False, byte_align=True, bit_order=bit_order)
    whole = encode(page, "mh", **opts)
    rows = b"".join(encode(sub_page_row(page, y), "mh", **opts) for y in range(page.height))
    assert whole == rows
    assert decode(whole, "mh", page.width, bit_order=bit_order, byte_align=True).page == page


def sub_page_row(page, y):
    from faxpipe.page import Page

    return Page(page.width, 1, page.row(y), page.xres, page.yres)


@SETTINGS
@given(pages(max_height=12), st.sampled_from(["mh", "mr", "mmr"]), st.integers(0, 12))
def test_streams_are_prefix_closed(page, scheme, rows):
    """Encoding the first rows of a page without RTC gives a prefix of the page's encoding
    (up to the zero padding of the last byte): the encoder has no look-ahead."""
    assume(rows <= page.height)
    whole = encode(page, scheme, rtc=False)
    head = encode(sub_page(page, rows), scheme, rtc=False)
    assert len(head) <= len(whole)
    if head:
        assert whole[:len(head) - 1] == head[:-1]
        last_mask = head[-1] | whole[len(head) - 1]
        assert last_mask == whole[len(head) - 1]  # head's last byte is whole's, padded with zeros


@SETTINGS
@given(pages(max_height=6), st.sampled_from(["mh", "mr", "mmr"]))
def test_c_decoder_leaves_padding_bits_clear(page, scheme):
    """The rows the C decoder returns are already a valid Page: the bits past ``width`` in each
    row's last byte are zero (Page would clear them, at the cost of a pass over the page)."""
    raw = _t4.decode(encode(page, scheme), page.width, page.height, SCHEMES[scheme],
                     False, False, False)[0]
    assert raw == page.data


@pytest.mark.parametrize("width", [57, 63, 121, 378, 1791, 2047])
def test_white_row_padding_at_word_ends(width):
    """Widths of 57..63 pels past a 64-pel word (fuzz/FINDINGS.md F9)."""
    page = sub_page(page_from_array(np.zeros((2, width), bool)), 2)
    for scheme in SCHEMES:
        raw = _t4.decode(encode(page, scheme), width, 2, SCHEMES[scheme], False, False, False)[0]
        assert raw == page.data, (scheme, raw[-1])


@SETTINGS
@given(pages(), st.sampled_from(["mh", "mr", "mmr"]), st.integers(0, 3), st.booleans())
def test_decode_into_matches_decode(page, scheme, spare_rows, give_height):
    """decode_into writes the same rows into a caller's buffer (dirty beforehand, larger than
    the page) as decode returns, and the same statistics; without a height it stops at RTC."""
    data = encode(page, scheme)
    stride = (page.width + 7) // 8
    out = bytearray(b"\xa5" * (stride * (page.height + spare_rows)))
    height = page.height + spare_rows if give_height else None
    stats = decode_into(data, scheme, out, page.width, height=height)
    expected = decode(data, scheme, page.width, height=height)
    assert stats == expected.stats
    assert bytes(out[:len(expected.page.data)]) == expected.page.data
    assert out[len(expected.page.data):] == b"\xa5" * (len(out) - len(expected.page.data))


def test_decode_into_refuses_a_buffer_it_cannot_fill():
    page = sub_page(page_from_array(np.ones((4, 100), bool)), 4)
    data = encode(page, "mmr")
    with pytest.raises(CodecError, match="holds 51 bytes"):
        decode_into(data, "mmr", bytearray(51), 100, height=4)
    with pytest.raises(TypeError, match="writable"):
        decode_into(data, "mmr", bytes(52), 100, height=4)
    with pytest.raises(TypeError, match="writable"):
        decode_into(data, "mmr", "not a buffer", 100, height=4)
    with pytest.raises(CodecError, match="height -1"):   # -1 is the glue's "as many as fit"
        decode_into(data, "mmr", bytearray(52), 100, height=-1)
    # without a height the buffer's size bounds the rows: three rows fit, the fourth is not read
    out = bytearray(3 * 13 + 5)
    assert decode_into(data, "mmr", out, 100).rows == 3
    assert bytes(out[:39]) == page.data[:39] and out[39:] == bytes(5)


@st.composite
def blank_stretch_pages(draw):
    """Pages that are mostly blank: stretches of up to 200 white rows between busy rows, as in
    margins and between paragraphs, where the decoder skips repeated white rows a whole period
    of bytes at a time."""
    width = draw(st.sampled_from([1, 17, 215, 1728, 2048, 2432]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    blocks = []
    for _ in range(draw(st.integers(1, 4))):
        blocks.append(np.zeros((draw(st.integers(0, 200)), width), bool))
        blocks.append(rng.random((draw(st.integers(0, 3)), width)) < 0.3)
    pixels = np.concatenate(blocks)
    return page_from_array(pixels, draw(st.sampled_from([98.0, 196.0])))


@SETTINGS
@given(blank_stretch_pages(), options(), st.integers(0, 300))
def test_blank_stretches_round_trip(page, scheme_opts, cut_rows):
    """Whole streams give back the page; a stream that ends inside a stretch gives back the rows
    it holds and no more (the repeat search stops at the data's end)."""
    scheme, opts = scheme_opts
    data = encode(page, scheme, **opts)
    decode_opts = dict(bit_order=opts["bit_order"], byte_align=opts["byte_align"])
    got, stats = decode(data, scheme, page.width, **decode_opts)
    assert page_rows(got) == page_rows(page) and stats.bad_rows == 0
    head = sub_page(page, min(cut_rows, page.height))
    cut = encode(head, scheme, **{**opts, "rtc": False})
    got, stats = decode(cut, scheme, page.width, **decode_opts)
    assert page_rows(got) == page_rows(head)
