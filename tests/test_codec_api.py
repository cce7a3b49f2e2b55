"""The Python face of the codec: options, room for pages of unknown height, statistics."""

import pytest

from faxpipe import CodecError, Page, codec


def striped(width, height):
    row_black = b"\xf0" * ((width + 7) // 8)
    rows = [row_black if y % 7 == 0 else bytes(len(row_black)) for y in range(height)]
    return Page.from_bytes(b"".join(rows), width, height)


@pytest.mark.parametrize("scheme", ["mh", "mr", "mmr"])
@pytest.mark.parametrize("height", [4095, 4096, 4097, 9000])
def test_long_pages_decode_without_a_height(scheme, height):
    page = striped(1728, height)
    page2, stats = codec.decode(codec.encode(page, scheme), scheme, 1728)
    assert page2 == page and stats.rows == height and stats.terminated and stats.bad_rows == 0


def test_long_page_without_terminator_decodes_every_row():
    page = striped(64, 5000)
    page2, stats = codec.decode(codec.encode(page, "mmr", rtc=False), "mmr", 64)
    assert page2 == page and not stats.terminated


def test_height_pads_missing_rows_white_and_counts_them():
    page = striped(64, 10)
    data = codec.encode(page, "mh", rtc=False)
    page2, stats = codec.decode(data, "mh", 64, height=14)
    assert page2.data[: len(page.data)] == page.data and page2.data[len(page.data):] == bytes(4 * 8)
    assert (stats.rows, stats.bad_rows, stats.consecutive_bad_rows) == (14, 4, 4)


def test_options_are_checked():
    page = striped(64, 3)
    with pytest.raises(CodecError, match="unknown coding scheme"):
        codec.encode(page, "jbig")
    with pytest.raises(CodecError, match="bit_order"):
        codec.encode(page, "mh", bit_order="middle")
    with pytest.raises(CodecError, match="byte_align"):
        codec.encode(page, "mr", byte_align=True)
    with pytest.raises(CodecError, match="min_bits"):
        codec.encode(page, "mh", min_bits=codec.MAX_MIN_BITS + 1)


def test_k_defaults_from_the_resolution():
    fine = striped(64, 8)
    standard = Page(64, 8, fine.data, 204, 98)
    assert codec.encode(fine, "mr") == codec.encode(fine, "mr", k=4)
    assert codec.encode(standard, "mr") == codec.encode(standard, "mr", k=2)
    assert codec.encode(standard, "mr") != codec.encode(standard, "mr", k=4)


def test_min_bits_pads_every_coded_line():
    page = Page.blank(1728, 5)
    plain = codec.encode(page, "mh", rtc=False)
    padded = codec.encode(page, "mh", rtc=False, min_bits=400)
    assert len(padded) * 8 >= 4 * 400 and len(plain) < len(padded)
    assert codec.decode(padded, "mh", 1728).page == page


@pytest.mark.parametrize("scheme", ["mh", "mr"])
def test_a_stray_eol_does_not_end_the_page(scheme):
    """Two EOLs with data after them are not RTC (T.4 §4.1.4 RTC is six): a bit error in zero
    fill can fake an EOL next to a real one, and the page must go on."""
    top, bottom = striped(64, 5), striped(64, 7)
    k = 1  # every MR row 1-D, so the halves do not refer to each other
    a = codec.encode(top, scheme, fill=True, rtc=False, k=k)
    b = codec.encode(bottom, scheme, fill=True, rtc=True, k=k)
    stray = b"\x00\x01" if scheme == "mh" else b"\x00\x01\x80"  # fill + EOL (+ tag 1 in MR)
    page, stats = codec.decode(a + stray + b, scheme, 64)
    assert stats.rows == 12 and stats.terminated and stats.bad_rows == 0
    assert page.data == top.data + bottom.data


@pytest.mark.parametrize("scheme", ["mh", "mr", "mmr"])
@pytest.mark.parametrize("blank", [1, 63, 64, 65, 200])
def test_blank_stretches_around_content(scheme, blank):
    """MMR decodes runs of white rows 64 at a time (one V0 bit each): the rows after them
    must still line up, with max_height cutting inside a stretch."""
    stride = 216
    rows = [bytes(stride)] * blank + [b"\x0f" * stride] + [bytes(stride)] * blank + [b"\xf0" + bytes(stride - 1)]
    page = Page.from_bytes(b"".join(rows), 1728, len(rows))
    data = codec.encode(page, scheme)
    assert codec.decode(data, scheme, 1728).page == page
    cut = codec.decode(data, scheme, 1728, max_height=blank + 3)
    assert cut.page.data == page.data[: (blank + 3) * stride]


@pytest.mark.parametrize("scheme", ["mh", "mr"])
@pytest.mark.parametrize("fill", [False, True])
def test_repeated_white_rows_after_content(scheme, fill):
    """White rows are recognised by their bits once one has been decoded; a white 2-D row coded
    against a row with content has other bits, and must not be mistaken for one."""
    stride = 216
    pattern = []
    for block in range(6):
        pattern += [b"\x3c" * stride] * (block % 3) + [bytes(stride)] * (block + 2)
    page = Page.from_bytes(b"".join(pattern), 1728, len(pattern))
    for k in (1, 2, 4):
        data = codec.encode(page, scheme, fill=fill, k=k)
        decoded, stats = codec.decode(data, scheme, 1728)
        assert decoded == page and stats.bad_rows == 0 and stats.terminated


@pytest.mark.parametrize("scheme", ["mh", "mr"])
@pytest.mark.parametrize("min_bits", [0, 44, 60, 200])
@pytest.mark.parametrize("width", [1, 9, 1728])
def test_white_rows_with_long_fill(scheme, min_bits, width):
    """White rows padded to a minimum line length (fuzz/FINDINGS.md F10)."""
    page = Page.blank(width, 7)
    for rtc in (False, True):
        data = codec.encode(page, scheme, k=8, fill=True, rtc=rtc, min_bits=min_bits)
        decoded, stats = codec.decode(data, scheme, width)
        assert decoded == page and stats.bad_rows == 0 and stats.terminated == rtc
