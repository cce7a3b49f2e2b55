"""The page model: geometry of T.4 §2, Pillow round trips, packed-row invariants."""

import pytest
from PIL import Image, ImageDraw

from faxpipe import CodecError, Page, PaperSize, Resolution


@pytest.mark.parametrize("paper,rows", [
    (PaperSize.A4, (1143, 2287, 4575)),
    (PaperSize.LETTER, (1078, 2156, 4312)),
    (PaperSize.LEGAL, (1372, 2744, 5488)),
    (PaperSize.B4, (1401, 2803, 5607)),
    (PaperSize.A3, (1617, 3234, 6469)),
])
def test_rows_per_paper_and_resolution(paper, rows):
    assert tuple(paper.rows(r) for r in Resolution) == rows


def test_widths_and_resolutions():
    assert [p.width for p in PaperSize] == [1728, 1728, 1728, 2048, 2432]
    assert [(r.xdpi, r.ydpi) for r in Resolution] == [(204, 98), (204, 196), (204, 391)]
    assert [r.k for r in Resolution] == [2, 4, 4]
    assert Resolution.parse("fine") is Resolution.FINE and PaperSize.parse("a4") is PaperSize.A4
    with pytest.raises(ValueError):
        Resolution.parse("ultra")


def test_pillow_round_trip_keeps_black_as_one():
    img = Image.new("1", (1728, 40), 1)
    ImageDraw.Draw(img).rectangle((0, 0, 7, 0), fill=0)  # eight black pels, top left
    page = Page.from_image(img, 204, 196)
    assert page.data[0] == 0xFF and page.data[1] == 0 and page.black_fraction() == 8 / (1728 * 40)
    assert page.to_image().tobytes() == img.tobytes()
    assert Page.from_image(page.to_image("L")) == page


def test_from_png_snaps_dots_per_metre(tmp_path):
    Image.new("1", (16, 4), 1).save(tmp_path / "p.png", dpi=(204, 196))
    page = Page.from_image(Image.open(tmp_path / "p.png"))
    assert (page.xres, page.yres) == (204.0, 196.0)


def test_padding_bits_are_cleared():
    page = Page.from_bytes(b"\xff\xff" * 3, 9, 3)
    assert page.data == b"\xff\x80" * 3


@pytest.mark.parametrize("width,height", [(0, 1), (16385, 1), (8, -1), (8, 65537)])
def test_absurd_geometry_is_refused(width, height):
    with pytest.raises(CodecError):
        Page.blank(width, height)


def test_data_length_must_match():
    with pytest.raises(CodecError, match="needs 4"):
        Page.from_bytes(b"\x00" * 3, 16, 2)
