"""The decoder's two ways of decoding 2-D rows (T.4 §4.2.1.3) against each other: b1 found by
searching the reference row, and b1 and b2 read from tables of it (decode_2d_table in
_t4.c, for dithered and noisy rows). Whatever the bytes, valid or not, both must give the same
rows, the same statistics and stop at the same byte; so must the automatic choice between them,
which switches row by row. The glue's optional last argument picks the way (t4_decoder).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec_bits import Watchdog, page_from_array, reverse_bits
from faxpipe.codec import _t4, encode
from faxpipe.errors import CodecError

AUTO, SEARCH, TABLES = 0, 1, 2
SCHEME = {"mh": 0, "mr": 1, "mmr": 2}
TABLE_WIDTH = 4880 - 16   # the widest row decode_2d_table takes (NEXT_STRIDE - 16)


@pytest.fixture(autouse=True)
def time_limit():
    with Watchdog(limit=None):
        yield


def decode_each_way(data: bytes, scheme: str, width: int, rows: int = 4096, lsb: bool = False):
    """The three decodes of `data`, which must agree; returns one."""
    results = [_t4.decode(data, width, rows, SCHEME[scheme], lsb, False, False, way)
               for way in (SEARCH, TABLES, AUTO)]
    assert results[1] == results[0], "tables differ from search"
    assert results[2] == results[0], "automatic choice differs from search"
    return results[0]


def dense_page(kind: str, width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    if kind == "noise":
        return rng.random((height, width)) < 0.5
    if kind == "dither":   # a grey ramp, diffused: short runs of every length
        grey = (x / max(width - 1, 1) + 0.3 * np.sin(y / 7.0)) % 1.0
        return rng.random((height, width)) < grey
    if kind == "checker":
        return (x + y) % 2 == 1
    if kind == "halftone":   # a regular screen, as scanned photographs in newspapers
        return (x % 6 < 2 + (y // 9) % 3) & (y % 4 < 3)
    if kind == "mixed":   # text-like rows, blank rows and noisy rows, so that AUTO switches
        rows = np.zeros((height, width), bool)
        for r in range(height):
            band = (r // 24) % 3
            if band == 1:
                rows[r] = rng.random(width) < 0.5
            elif band == 2:
                rows[r] = np.repeat(rng.random(width // 12 + 1) < 0.3, 12)[:width]
        return rows
    raise ValueError(kind)


KINDS = ["noise", "dither", "checker", "halftone", "mixed"]


@pytest.mark.parametrize("scheme", ["mr", "mmr"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("width", [1728, 37, 2432, TABLE_WIDTH, TABLE_WIDTH + 1])
def test_valid_streams_decode_to_the_page_each_way(kind, width, scheme):
    height = 120 if width < 4000 else 40
    page = page_from_array(dense_page(kind, width, height, seed=width))
    data = encode(page, scheme)
    rows, stats = decode_each_way(data, scheme, width)
    assert rows == page.data
    assert stats[:2] == (height, 0)


def corruptions(data: bytes, seed: int):
    """Flipped bits, cuts, inserted garbage and zeroed stretches of `data`."""
    rng = np.random.default_rng(seed)
    buf = np.frombuffer(data, np.uint8)
    for _ in range(6):
        flipped = buf.copy()
        for pos in rng.integers(0, len(buf) * 8, rng.integers(1, 6)):
            flipped[pos // 8] ^= np.uint8(0x80 >> (pos % 8))
        yield flipped.tobytes()
    for cut in rng.integers(1, len(data), 4):
        yield data[:cut]
    for at in rng.integers(0, len(data), 3):
        yield data[:at] + rng.integers(0, 256, 40, dtype=np.uint8).tobytes() + data[at:]
    for at in rng.integers(0, len(data), 3):
        yield data[:at] + bytes(30) + data[at + 30:]


@pytest.mark.parametrize("scheme", ["mr", "mmr"])
@pytest.mark.parametrize("kind", KINDS)
def test_corrupt_streams_decode_the_same_each_way(kind, scheme):
    page = page_from_array(dense_page(kind, 1728, 90, seed=3))
    for data in corruptions(encode(page, scheme), seed=len(kind)):
        decode_each_way(data, scheme, 1728)
        decode_each_way(reverse_bits(data), scheme, 1728, lsb=True)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=1, max_size=3000), scheme=st.sampled_from(["mr", "mmr"]),
       width=st.sampled_from([1, 8, 37, 1728, TABLE_WIDTH]))
def test_any_bytes_decode_the_same_each_way(data, scheme, width):
    decode_each_way(data, scheme, width, rows=256)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scheme=st.sampled_from(["mr", "mmr"]),
       kind=st.sampled_from(KINDS))
def test_spliced_dense_streams_decode_the_same_each_way(seed, scheme, kind):
    """Two dense pages' streams cut and joined at random bits: plausible codes in wrong places."""
    rng = np.random.default_rng(seed)
    a = encode(page_from_array(dense_page(kind, 200, 30, seed)), scheme)
    b = encode(page_from_array(dense_page("noise", 200, 30, seed + 1)), scheme)
    cut_a, cut_b = int(rng.integers(1, len(a))), int(rng.integers(0, len(b)))
    decode_each_way(a[:cut_a] + b[cut_b:], scheme, 200, rows=200)


def test_unknown_way_is_refused():
    with pytest.raises(CodecError):
        _t4.decode(b"\x00", 1728, 10, 2, False, False, False, 3)
    with pytest.raises(CodecError):
        _t4.decode(b"\x00", 1728, 10, 2, False, False, False, -1)
