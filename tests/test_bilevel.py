"""faxpipe.bilevel and its C core: exact against numpy references, halftones keep the mean,
auto tells text from photographs, padding bits stay zero, bad arguments are CodecErrors."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from PIL import Image

from faxpipe import CodecError, Page, bilevel
from faxpipe.codec import _bilevel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import greypages  # noqa: E402

WIDTHS = (1, 7, 8, 9, 13, 63, 64, 65, 1727, 1728)


def grey_image(width: int, height: int, seed: int = 0) -> tuple[Image.Image, np.ndarray]:
    a = np.random.default_rng(seed).integers(0, 256, (height, width), dtype=np.uint8)
    return Image.fromarray(a, "L"), a


def packed(black: np.ndarray) -> bytes:
    """numpy's packing of a boolean array (1 = black), MSB-first, rows padded with zeros."""
    return np.packbits(black.astype(np.uint8), axis=1, bitorder="big").tobytes()


def unpack(page: Page) -> np.ndarray:
    rows = np.frombuffer(page.data, np.uint8).reshape(page.height, page.stride)
    return np.unpackbits(rows, axis=1)[:, :page.width].astype(bool)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("level", (0, 1, 100, 128, 200, 255, 256))
def test_threshold_is_exact(width, level):
    image, a = grey_image(width, 37, seed=width + level)
    page = bilevel.to_page(image, method="threshold", level=level)
    assert page.data == packed(a < level)
    assert (page.width, page.height) == (width, 37)


def test_threshold_without_level_uses_the_text_level():
    image = greypages.text(600)
    seen = bilevel.analyse(image)
    level = seen.level
    assert 60 < seen.otsu < level < 255
    page = bilevel.to_page(image, method="threshold")
    assert page.data == packed(np.asarray(image) < level)


def test_otsu_separates_two_modes():
    a = np.where(np.random.default_rng(1).random((50, 300)) < 0.3, 40, 220).astype(np.uint8)
    seen = bilevel.analyse(Image.fromarray(a, "L"))
    assert abs(seen.otsu - 130) <= 2  # the middle of the flat optimum, not its edge
    assert seen.level == seen.otsu + 2 * (220 - seen.otsu) // 5  # towards the paper
    assert bilevel.to_page(Image.fromarray(a, "L"), method="threshold").data == packed(a < seen.level)


@pytest.mark.parametrize("grey", (0, 16, 64, 100, 128, 170, 230, 255))
def test_diffusion_keeps_the_mean(grey):
    image = Image.new("L", (401, 300), grey)
    black = unpack(bilevel.to_page(image, method="diffusion")).mean()
    assert abs(black - (1 - grey / 255)) < 0.01


def test_diffusion_keeps_the_mean_of_a_photo_locally():
    image = greypages.photo(512, 512)
    a = np.asarray(image, dtype=np.float64)
    black = unpack(bilevel.to_page(image, method="diffusion")).astype(np.float64)
    assert abs(black.mean() - (1 - a.mean() / 255)) < 0.005
    # 32×32 blocks: each keeps its own mean grey within a few percent
    blocks = lambda m: m.reshape(16, 32, 16, 32).mean(axis=(1, 3))  # noqa: E731
    assert np.abs(blocks(black) - (1 - blocks(a) / 255)).max() < 0.06


def test_diffusion_is_serpentine_floyd_steinberg():
    """Against a plain Python reference of the same integer arithmetic on a small image."""
    image, a = grey_image(23, 11, seed=3)
    want = np.zeros(a.shape, bool)
    cur, nxt = [0] * 25, [0] * 25  # errors in sixteenths, one guard cell each side
    for y in range(a.shape[0]):
        step = -1 if y & 1 else 1
        xs = range(22, -1, -1) if y & 1 else range(23)
        carry = 0
        for x in xs:
            v = int(a[y, x]) * 16 + cur[x + 1] + carry
            v = min(max(v, -16 * 1024), 16 * 1280)
            want[y, x] = v < 128 * 16
            e = v - (0 if want[y, x] else 255 * 16)
            e7, e3, e5 = (e * 7) >> 4, (e * 3) >> 4, (e * 5) >> 4
            carry = e7
            nxt[x + 1 - step] += e3
            nxt[x + 1] += e5
            nxt[x + 1 + step] += e - e7 - e3 - e5
        cur, nxt = nxt, [0] * 25
    assert bilevel.to_page(image, method="diffusion").data == packed(want)


@pytest.mark.parametrize("matrix", bilevel.MATRICES)
@pytest.mark.parametrize("yres", (98.0, 196.0))
@pytest.mark.parametrize("width", (1, 9, 100, 1728))
def test_ordered_equals_numpy_reference(matrix, yres, width):
    image, a = grey_image(width, 45, seed=width)
    t = np.array(bilevel.matrix_thresholds(matrix, yres), dtype=np.int32)
    tiled = np.tile(t, (45 // t.shape[0] + 1, width // t.shape[1] + 1))[:45, :width]
    page = bilevel.to_page(image, 204, yres, method="ordered", matrix=matrix)
    assert page.data == packed(a < tiled)


@pytest.mark.parametrize("matrix", bilevel.MATRICES)
def test_matrices_cover_every_grey_evenly(matrix):
    t = np.array(bilevel.matrix_thresholds(matrix)).ravel()
    cells = t.size
    assert sorted(t) == [256 - (2 * k + 1) * 128 // cells for k in reversed(range(cells))]
    for grey in (0, 255, 64, 128, 191):  # a flat grey gives the black share it should
        assert abs((grey < t).mean() - (1 - grey / 255)) <= 1 / cells + 1e-9


def test_cluster_matrix_grows_one_dot():
    """Clustered dot: at every grey level the black pels of a cell touch each other."""
    t = np.array(bilevel.matrix_thresholds("cluster"))
    tiled = np.tile(t, (3, 3))
    for grey in range(2, 250, 8):
        black = tiled < grey  # the complement is as good a test: both grow as one blob
        ys, xs = np.nonzero(black)
        neighbours = sum(1 for y, x in zip(ys, xs)
                         if any(black[(y + dy) % 24, (x + dx) % 24]
                                for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0))))
        assert neighbours >= len(ys) - 4, grey


def test_auto_picks_threshold_for_text_and_a_halftone_for_a_photo():
    text, photo = greypages.text(1143), greypages.photo(1143)
    assert bilevel.analyse(text).method == "threshold"
    assert bilevel.analyse(photo).method in ("ordered", "diffusion")
    assert bilevel.to_page(text, 204, 98) == bilevel.to_page(text, 204, 98, method="threshold")
    assert bilevel.to_page(photo, 204, 98) == bilevel.to_page(photo, 204, 98, method="ordered")


def test_auto_on_white_and_black_pages():
    for grey, fraction in ((255, 0.0), (0, 1.0)):
        page = bilevel.to_page(Image.new("L", (1728, 50), grey))
        assert page.black_fraction() == fraction


@pytest.mark.parametrize("method", list(bilevel.METHODS))
@pytest.mark.parametrize("width", WIDTHS)
def test_padding_bits_are_zero_from_c(method, width):
    """Straight from the C core (Page would clear them and hide a bug)."""
    a = np.zeros((5, width), np.uint8)  # all black: every pel bit set
    rows, *_ = _bilevel.convert(a.tobytes(), width, 5, bilevel.METHODS[method], _bilevel.NO_LEVEL, 0)
    stride = (width + 7) // 8
    assert len(rows) == 5 * stride
    if width % 8:
        mask = 0xFF >> (width % 8)
        assert all(rows[y * stride + stride - 1] & mask == 0 for y in range(5))
    assert np.unpackbits(np.frombuffer(rows, np.uint8)).sum() == 5 * width


def test_first_pel_is_the_msb():
    a = np.full((1, 16), 255, np.uint8)
    a[0, 0] = a[0, 9] = 0
    assert bilevel.to_page(Image.fromarray(a, "L"), method="threshold", level=128).data == b"\x80\x40"


def test_page_carries_resolution_and_other_modes_are_converted():
    rgb = Image.new("RGB", (20, 10), (0, 0, 0))
    page = bilevel.to_page(rgb, 204, 98, method="threshold", level=128)
    assert (page.xres, page.yres, page.black_fraction()) == (204.0, 98.0, 1.0)


def test_empty_page():
    page = bilevel.to_page(Image.new("L", (1728, 0)), method="diffusion")
    assert (page.width, page.height, page.data) == (1728, 0, b"")


@pytest.mark.parametrize("kwargs", [
    {"method": "sharpen"}, {"method": None}, {"level": -1}, {"level": 257}, {"level": 12.5},
    {"level": "128"}, {"matrix": "stochastic"}, {"xres": 0}, {"yres": -98},
])
def test_bad_arguments_are_codec_errors(kwargs):
    with pytest.raises(CodecError):
        bilevel.to_page(Image.new("L", (8, 8), 128), **{"method": "ordered", **kwargs})


def test_not_an_image_is_a_codec_error():
    for thing in (b"\x00" * 64, None, np.zeros((8, 8), np.uint8)):
        with pytest.raises(CodecError):
            bilevel.to_page(thing)
        with pytest.raises(CodecError):
            bilevel.analyse(thing)


def test_too_wide_is_a_codec_error():
    with pytest.raises(CodecError):
        bilevel.to_page(Image.new("L", (16385, 1)))


@pytest.mark.parametrize("args", [
    (b"\x00" * 8, 0, 1, 1, 128, 0), (b"\x00" * 8, 16385, 1, 1, 128, 0),
    (b"\x00" * 8, 8, -1, 1, 128, 0), (b"\x00" * 8, 8, 65537, 1, 128, 0),
    (b"\x00" * 7, 8, 1, 1, 128, 0), (b"\x00" * 8, 8, 1, 4, 128, 0), (b"\x00" * 8, 8, 1, -1, 128, 0),
    (b"\x00" * 8, 8, 1, 1, 257, 0), (b"\x00" * 8, 8, 1, 1, -2, 0), (b"\x00" * 8, 8, 1, 3, 128, 4),
    (b"\x00" * 8, 8, 1, 3, 128, -1),
])
def test_c_core_refuses_bad_arguments(args):
    with pytest.raises(CodecError):
        _bilevel.convert(*args)


def test_c_core_bad_matrix_and_analyse():
    with pytest.raises(CodecError):
        _bilevel.matrix(4)
    with pytest.raises(CodecError):
        _bilevel.analyse(b"\x00" * 3, 2, 2)
    with pytest.raises(TypeError):
        _bilevel.convert("not bytes", 8, 1, 1, 128, 0)


def test_buffer_input_with_stride_equals_image_input():
    image, a = grey_image(101, 40, seed=9)
    padded = np.full((40, 128), 7, np.uint8)  # stride 128, junk after the width
    padded[:, :101] = a
    for method in bilevel.METHODS:
        want = bilevel.to_page(image, method=method)
        assert bilevel.to_page(padded.tobytes(), method=method, size=(101, 40), stride=128) == want
        assert bilevel.to_page(memoryview(a.tobytes()), method=method, size=(101, 40)) == want


@pytest.mark.parametrize("kwargs", [
    {"size": (101, 40), "stride": 100}, {"size": (101, 41), "stride": 128}, {"size": (0, 40)},
    {"size": "big"}, {"size": (101, 40), "stride": 128.0},
])
def test_bad_buffer_arguments_are_codec_errors(kwargs):
    with pytest.raises(CodecError):
        bilevel.to_page(bytes(128 * 40), method="threshold", **kwargs)
    with pytest.raises(CodecError):
        bilevel.to_page("a string is not grey rows" * 1000, size=(10, 10))


# ---- auto per tile: a mixed page keeps crisp text and halftoned greys ----

def tile_mask(analysis: bilevel.Analysis, width: int, height: int) -> np.ndarray:
    """The tile map as a pel mask (True = halftoned), cut to the page."""
    tiles = np.array(analysis.tiles, dtype=bool).reshape(-1, (width + bilevel.TILE - 1) // bilevel.TILE)
    return np.kron(tiles, np.ones((bilevel.TILE, bilevel.TILE), bool))[:height, :width]


def ordered_reference(a: np.ndarray, yres: float = 196.0) -> np.ndarray:
    t = np.array(bilevel.matrix_thresholds("cluster", yres), dtype=np.int32)
    h, w = a.shape
    return a < np.tile(t, (h // t.shape[0] + 1, w // t.shape[1] + 1))[:h, :w]


def mixed_page(width: int = 1728, rows: int = 1200) -> np.ndarray:
    """Text above (a strip of the text page), a horizontal gradient below with white margins."""
    a = np.full((rows, width), 255, np.uint8)
    a[:rows // 2] = np.asarray(greypages.text(2287, width))[100:100 + rows // 2]
    g0, g1 = rows // 2 + 64, rows - 64
    a[g0:g1, 96:width - 96] = np.linspace(0, 255, width - 192).astype(np.uint8)[None, :]
    return a


@pytest.mark.parametrize("yres", (98.0, 196.0))
def test_auto_on_a_mixed_page_thresholds_text_tiles_and_halftones_grey_tiles(yres):
    a = mixed_page()
    image = Image.fromarray(a, "L")
    seen = bilevel.analyse(image)
    assert seen.method == "mixed" and 0.2 < seen.halftone_fraction < 0.6
    mask = tile_mask(seen, *image.size)
    assert not mask[:600].any()  # every tile of the text: thresholded
    # the gradient's middle (grey 40..215): halftoned, up to its edges
    x0, x1 = 96 + int(40 / 255 * 1536) + 32, 96 + int(215 / 255 * 1536) - 32
    assert mask[700:1100, x0:x1].all()
    got = unpack(bilevel.to_page(image, 204, yres))
    threshold = a < seen.level
    assert np.array_equal(got[~mask], threshold[~mask])  # text tiles: bit-identical to threshold
    ordered = unpack(bilevel.to_page(image, 204, yres, method="ordered"))
    assert np.array_equal(ordered, ordered_reference(a, yres))
    assert np.array_equal(got[mask], ordered[mask])  # grey tiles: the page's ordered halftone
    # the text level is the text's own: the gradient does not move it
    text_only = bilevel.analyse(Image.fromarray(a[:600], "L"))
    assert abs(seen.level - text_only.level) <= 3


def test_auto_on_a_mixed_page_keeps_the_greys_a_per_page_threshold_loses():
    a = mixed_page()
    got = unpack(bilevel.to_page(Image.fromarray(a, "L")))
    band = got[700:1100, 96:1632]  # the gradient, left (black) to right (white)
    means = band.reshape(400, 48, 32).mean(axis=(0, 2))
    want = 1 - a[800, 96:1632].reshape(48, 32).mean(axis=1) / 255
    assert np.abs(means - want).max() < 0.1  # each column of tiles keeps its grey


@pytest.mark.parametrize("rows", (2287, 1143))
def test_auto_on_pure_text_and_pure_photo_pages_is_unchanged(rows):
    yres = 196.0 if rows > 2000 else 98.0
    text, photo = greypages.text(rows), greypages.photo(rows)
    seen_text, seen_photo = bilevel.analyse(text), bilevel.analyse(photo)
    assert (seen_text.method, seen_text.halftone_fraction) == ("threshold", 0.0)
    assert (seen_photo.method, seen_photo.halftone_fraction, seen_photo.level) == ("ordered", 1.0, -1)
    assert bilevel.to_page(text, 204, yres) == bilevel.to_page(text, 204, yres, method="threshold")
    assert bilevel.to_page(photo, 204, yres) == bilevel.to_page(photo, 204, yres, method="ordered")
    assert not any(any(row) for row in seen_text.tiles) and all(all(row) for row in seen_photo.tiles)


@pytest.mark.parametrize("size", [(1, 1), (7, 3), (33, 65), (45, 37), (100, 31), (257, 129), (1727, 95)])
def test_auto_tiles_at_the_edges_agree_with_threshold_and_ordered(size):
    """Odd sizes: partial tiles at the right and bottom edges, a gradient across a text-like
    left half; every pel is the threshold's or the ordered halftone's, as its tile says."""
    width, height = size
    a = np.full((height, width), 255, np.uint8)
    a[:, width // 2:] = np.linspace(60, 190, width - width // 2).astype(np.uint8)[None, :]
    rng = np.random.default_rng(width * height)
    strokes = rng.random((height, width // 2)) < 0.15  # black strokes with anti-aliased edges
    a[:, :width // 2][strokes] = 0
    image = Image.fromarray(a, "L")
    seen = bilevel.analyse(image)
    assert len(seen.tiles) == (height + 31) // 32 and len(seen.tiles[0]) == (width + 31) // 32
    page = bilevel.to_page(image)
    padded = np.frombuffer(page.data, np.uint8).reshape(height, page.stride)
    if width % 8:  # padding bits zero
        assert not (padded[:, -1] & (0xFF >> (width % 8))).any()
    mask = tile_mask(seen, width, height)
    got = unpack(page)
    level = seen.level if seen.level >= 0 else 128
    assert np.array_equal(got[~mask], (a < level)[~mask])
    assert np.array_equal(got[mask], ordered_reference(a)[mask])
    if width >= 64 and height >= 64:
        assert seen.method == "mixed"


def test_auto_with_a_level_uses_it_on_text_tiles():
    a = mixed_page(width=640, rows=600)
    image = Image.fromarray(a, "L")
    seen = bilevel.analyse(image)
    mask = tile_mask(seen, 640, 600)
    assert mask.any() and not mask.all()
    got = unpack(bilevel.to_page(image, level=100))
    assert np.array_equal(got[~mask], (a < 100)[~mask])
    assert np.array_equal(got[mask], ordered_reference(a)[mask])


def test_c_core_reports_the_halftone_share():
    a = mixed_page(width=640, rows=600)
    rows, method, level, mid, halftone = _bilevel.convert(a.tobytes(), 640, 600, _bilevel.AUTO,
                                                          _bilevel.NO_LEVEL, 0)
    seen = bilevel.analyse(Image.fromarray(a, "L"))
    assert (method, level) == (_bilevel.MIXED, seen.level)
    assert halftone == pytest.approx(seen.halftone_fraction) and 0 < halftone < 1
    assert 0 < mid < 1
    for method, share in ((_bilevel.THRESHOLD, 0.0), (_bilevel.ORDERED, 1.0), (_bilevel.DIFFUSION, 1.0)):
        assert _bilevel.convert(a.tobytes(), 640, 600, method, 128, 0)[4] == share


def test_mixed_is_not_a_method_to_ask_for():
    with pytest.raises(CodecError):
        _bilevel.convert(b"\x00" * 8, 8, 1, _bilevel.MIXED, 128, 0)
    with pytest.raises(CodecError):
        bilevel.to_page(Image.new("L", (8, 8), 128), method="mixed")
    with pytest.raises(CodecError):
        _bilevel.analyse(b"\x00" * 8, 8, 2)  # two rows promised, one given
