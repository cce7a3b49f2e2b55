"""Fitting onto the fax page (T.4 §2.2 widths, §2.3 densities), turning landscape content,
the header band, and the page store."""

from __future__ import annotations

import pytest
from PIL import Image

from faxpipe.normalize import PageStore, header
from faxpipe.normalize.geometry import Target, fit_image, fits, needed_scale, place
from faxpipe.page import Page, PaperSize, Resolution

A4_IN = (210 / 25.4, 297 / 25.4)


@pytest.mark.parametrize("paper, width, fine_rows", [
    (PaperSize.A4, 1728, 2287), (PaperSize.LETTER, 1728, 2156), (PaperSize.LEGAL, 1728, 2744),
    (PaperSize.B4, 2048, 2803), (PaperSize.A3, 2432, 3234),
])
def test_target_geometry(paper, width, fine_rows):
    target = Target(paper, Resolution.FINE)
    assert (target.width, target.rows) == (width, fine_rows)


@pytest.mark.parametrize("resolution, rows", [("standard", 1143), ("fine", 2287), ("superfine", 4575)])
def test_a4_page_fills_the_a4_height(resolution, rows):
    where = place(Target(PaperSize.A4, Resolution.parse(resolution)), *A4_IN)
    assert not where.rotate
    assert where.height == rows and where.y == 0
    # 210 mm at 8 pels/mm is 1680 pels; the fax line is 215 mm (1728), so it is centred.
    assert abs(where.width - 1680) <= 10 and abs(where.x - (1728 - where.width) // 2) <= 1


def test_x_and_y_are_scaled_separately():
    """A square inch is 204 pels wide and 98 / 196 / 391 rows high."""
    for res in Resolution:
        where = place(Target(PaperSize.A4, res), 1, 1)
        assert abs(where.width / where.height - 204 / res.ydpi) < 0.01


def test_landscape_is_turned_when_larger():
    target = Target(PaperSize.A4, Resolution.FINE)
    assert place(target, A4_IN[1], A4_IN[0]).rotate
    assert not place(target, *A4_IN).rotate
    assert not place(target, 1.0, 1.0).rotate          # a square gains nothing by turning
    wide = place(target, 11, 8.5)
    assert wide.rotate and wide.width <= 1728 and wide.height <= 2287


def test_header_band_is_kept_free():
    band = header.band_rows(Target(PaperSize.A4, Resolution.FINE))
    target = Target(PaperSize.A4, Resolution.FINE, band)
    where = place(target, *A4_IN)
    assert where.y >= band and where.y + where.height <= target.rows
    assert where.height == target.rows - band        # shrunk, not cut


def test_fit_image_pastes_on_white_at_full_size():
    target = Target(PaperSize.LETTER, Resolution.STANDARD)
    page = fit_image(target, Image.new("L", (300, 200), 0))
    assert page.size == (1728, 1078)
    assert page.getpixel((0, 0)) == 255 and page.getpixel((864, 539)) == 0


def test_needed_scale_and_fits():
    target = Target(PaperSize.A4, Resolution.FINE)
    assert 0.57 < needed_scale(target, 3000, 4000) < 0.6
    assert needed_scale(target, 100, 100) > 1
    assert fits(target, 1728, 2287, 204, 196) and fits(target, 1728, 2292, 204, 196)
    assert not fits(target, 1728, 2287, 204, 98) and not fits(target, 2048, 2287, 204, 196)
    assert not fits(Target(PaperSize.A4, Resolution.FINE, 30), 1728, 2287, 204, 196)


def test_page_store_keeps_late_pages_coded(monkeypatch):
    monkeypatch.setattr(PageStore, "budget", 1000)
    rows = [bytes([i % 256]) * 216 for i in range(40)]
    pages = [Page(1728, 40, b"".join(rows[i:] + rows[:i])) for i in range(3)]
    store = PageStore()
    for page in pages:
        store.append(page)
    assert len(store) == 3 and list(store) == pages and store[1:] == pages[1:]
    assert not isinstance(store._items[2], Page)


def test_fit_grey_shrinks_in_c_like_pillow_and_in_two_bands_without_a_seam(monkeypatch):
    from faxpipe.normalize import geometry
    from faxpipe.normalize.geometry import Grey, fit_grey

    gradient = Image.linear_gradient("L").resize((1875, 2500))
    noise = Image.effect_noise((1875, 2500), 60)
    source = Image.blend(gradient, noise, 0.5)
    target = Target(PaperSize.A4, Resolution.FINE)
    banded = fit_grey(target, source)
    assert isinstance(banded, Grey) and (banded.width, banded.height) == (1728, 2287)
    pillow = fit_image(target, source).tobytes()  # Pillow's BILINEAR
    differences = [abs(a - b) for a, b in zip(banded.pixels, pillow)]
    assert max(differences) <= 1  # rounding: Pillow keeps 8 bits between its two passes
    monkeypatch.setattr(geometry, "SPLIT_PELS", 1 << 40)
    assert fit_grey(target, source).pixels == banded.pixels  # the bands join exactly
    # what the C filter does not do goes through fit_image: enlarging, turning, 2× or more
    for other in (source.resize((300, 400)), source.resize((2500, 1875)), source.resize((3750, 5000))):
        page = fit_grey(target, other)
        assert isinstance(page, Image.Image) and page.tobytes() == fit_image(target, other).tobytes()


def test_shrink_refuses_what_it_cannot_do():
    from faxpipe.codec import _bilevel
    from faxpipe.errors import CodecError

    out = bytearray(100)
    with pytest.raises(CodecError):   # an enlargement
        _bilevel.shrink(bytes(25), 5, 5, 5, out, 0, 10, 10, 10, 0, 10)
    with pytest.raises(CodecError):   # the output buffer is too short
        _bilevel.shrink(bytes(400), 20, 20, 20, out, 50, 10, 10, 10, 0, 10)
    flat = bytearray(64)
    _bilevel.shrink(bytes([77]) * 100, 10, 10, 10, flat, 0, 8, 8, 8, 0, 8)
    assert flat == bytearray([77]) * 64   # flat stays flat: the weights sum to one exactly


def test_resampling_filter_follows_the_ratio():
    from faxpipe.normalize.geometry import _filter

    R = Image.Resampling
    assert _filter((3000, 4000), (1428, 1900)) is R.BOX        # 2× or more: area average
    assert _filter((1875, 2500), (1728, 2213)) is R.BILINEAR   # JPEG decoded at 5/8
    assert _filter((3000, 4000), (1728, 2213)) is R.BILINEAR
    assert _filter((300, 400), (1728, 2213)) is R.BICUBIC      # enlarging


def test_shrink_matches_pillow_bilinear_on_any_shape_and_band():
    import random

    from faxpipe.codec import _bilevel

    rng = random.Random(7)
    for _ in range(150):
        iw, ih = rng.randint(1, 120), rng.randint(1, 120)
        ow, oh = rng.randint(1, iw), rng.randint(1, ih)
        stride, out_stride, offset = iw + rng.randint(0, 5), ow + rng.randint(0, 5), rng.randint(0, 9)
        pels = bytes(rng.randrange(256) for _ in range(stride * ih))
        source = Image.frombytes("L", (iw, ih), pels, "raw", "L", stride)
        want = source.resize((ow, oh), Image.Resampling.BILINEAR).tobytes()
        out = bytearray(b"\x55") * (offset + out_stride * oh)
        cut = rng.randint(0, oh)
        for y0, y1 in ((0, cut), (cut, oh)):  # two bands, as fit_grey makes them
            _bilevel.shrink(pels, iw, ih, stride, out, offset, out_stride, ow, oh, y0, y1)
        got = b"".join(out[offset + y * out_stride:offset + y * out_stride + ow] for y in range(oh))
        assert max(abs(a - b) for a, b in zip(got, want)) <= 1, (iw, ih, ow, oh)
        assert out[:offset] == b"\x55" * offset  # nothing written outside the rows
        assert all(out[offset + y * out_stride + ow:offset + (y + 1) * out_stride] == b"\x55" * (out_stride - ow)
                   for y in range(oh - 1))
