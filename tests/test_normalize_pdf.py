"""PDF: anisotropic rendering, turning, encryption, limits, the per-page deadline, the
Ghostscript renderer, long documents streamed page by page, the header band."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import faxpipe
from faxpipe.errors import DocumentError
from faxpipe.normalize import Conversion, Limits, header
from faxpipe.normalize.geometry import Target
from faxpipe.page import PaperSize, Resolution

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
import make_documents as docs  # noqa: E402
from tools import require_tool  # noqa: E402


def black_box(page):
    """(left, top, right, bottom) of the black pels."""
    return page.to_image("L").point(lambda v: 255 - v).getbbox()


@pytest.mark.parametrize("resolution", ["standard", "fine", "superfine"])
def test_frame_is_scaled_per_axis(resolution):
    """The frame is 18 pt inside an A4 page, stroked 1 pt wide: 560 × 807 pt outside."""
    page = faxpipe.convert([("a4.pdf", docs.pdf_pages([docs.A4]))], resolution).pages[0]
    left, top, right, bottom = black_box(page)
    res = Resolution.parse(resolution)
    scale = PaperSize.A4.rows(res) / (docs.A4[1] / 72 * res.ydpi)   # fitted to the height
    assert abs((right - left) - 560.28 / 72 * 204 * scale) <= 3
    assert abs((bottom - top) - 806.89 / 72 * res.ydpi * scale) <= 3


def test_landscape_page_is_turned_top_to_the_left():
    page = faxpipe.convert([("l.pdf", docs.pdf_pages([(docs.A4[1], docs.A4[0])], lines=0))]).pages[0]
    image = page.to_image("L")
    inner = image.crop((100, 100, 1628, 2187))        # inside the frame
    left, top, right, bottom = inner.point(lambda v: 255 - v).getbbox()
    assert right < 300 and top > 1000                 # the label reads upwards at the bottom left


def test_rotate_and_cropbox_are_honoured():
    turned = faxpipe.convert([("r.pdf", docs.rotated_pdf())]).pages[0]
    plain = faxpipe.convert([("p.pdf", docs.pdf_pages([docs.A4], label="rotated"))]).pages[0]
    assert turned == plain                            # /Rotate 90, then turned back upright
    cropped = faxpipe.convert([("c.pdf", docs.cropped_pdf())]).pages[0]
    left, top, right, bottom = black_box(cropped)
    # the top half of a Letter page is 8.5 × 5.5 in: turned, it fills the height, not the width
    assert bottom - top > 2100 and right - left < 1600


def test_mixed_sizes_all_become_fax_pages():
    document = faxpipe.convert([("m.pdf", docs.pdf_pages([docs.A4, docs.LETTER, docs.A5, docs.LEGAL]))], paper="letter")
    assert [(p.width, p.height) for p in document.pages] == [(1728, 2156)] * 4


def test_password_protected_is_refused():
    require_tool("qpdf")
    locked = docs.qpdf_encrypt(docs.pdf_pages([docs.A4]), "secret")
    with pytest.raises(DocumentError) as caught:
        faxpipe.validate([("locked.pdf", locked)])
    assert str(caught.value) == "fx_file_invalid: locked.pdf: password protected"
    opened = faxpipe.validate([("open.pdf", docs.qpdf_encrypt(docs.pdf_pages([docs.A4]), ""))])
    assert opened[0].encrypted and opened[0].pages == 1


def test_page_limit():
    with pytest.raises(DocumentError, match=r"big.pdf: 3 pages, more than the 2 allowed"):
        faxpipe.validate([("big.pdf", docs.pdf_pages([docs.A4] * 3))], limits=Limits(max_pages=2))
    with pytest.raises(DocumentError, match="more than the 3 allowed"):
        faxpipe.convert([("a.pdf", docs.pdf_pages([docs.A4] * 2)), ("b.txt", b"x\n" * 70)],
                        limits=Limits(max_pages=3))


def test_size_limit(tmp_path):
    path = tmp_path / "huge.pdf"
    path.write_bytes(docs.pdf_pages([docs.A4]))
    with pytest.raises(DocumentError, match="huge.pdf: larger than the 0 MiB"):
        faxpipe.validate([str(path)], limits=Limits(max_bytes=100))


def test_pathological_page_hits_the_deadline():
    with pytest.raises(DocumentError) as caught:
        faxpipe.convert([("slow.pdf", docs.busy_pdf())], limits=Limits(page_seconds=0.002))
    assert caught.value.code == "fx_file_invalid"
    assert caught.value.reason == "slow.pdf: page 1 took longer than 0.002 s to render"
    assert len(faxpipe.convert([("slow.pdf", docs.busy_pdf())]).pages) == 1


def test_two_thousand_pages_stream_one_at_a_time():
    data = docs.pdf_pages([docs.A4] * 2000, lines=1)
    assert faxpipe.validate([("long.pdf", data)])[0].pages == 2000
    conversion = Conversion([("long.pdf", data)])
    assert conversion.total == 2000
    pages = iter(conversion)
    first = [next(pages) for _ in range(3)]
    pages.close()                                     # the document is closed, nothing else rendered
    assert all(p.height == 2287 for p in first)


def test_ghostscript_renderer_matches_pdfium_geometry():
    require_tool("gs")
    data = docs.pdf_pages([docs.A4, (docs.A4[1], docs.A4[0])])
    ours = faxpipe.convert([("g.pdf", data)])
    theirs = faxpipe.convert([("g.pdf", data)], renderer="ghostscript")
    assert len(theirs.pages) == 2
    for a, b in zip(ours.pages, theirs.pages):
        assert (a.width, a.height) == (b.width, b.height)
        assert all(abs(x - y) <= 6 for x, y in zip(black_box(a), black_box(b)))


def test_ghostscript_deadline():
    require_tool("gs")
    with pytest.raises(DocumentError, match="slow.pdf: page 1 took longer than"):
        faxpipe.convert([("slow.pdf", docs.busy_pdf(20000))], renderer="ghostscript",
                        limits=Limits(page_seconds=0.001))


def test_header_never_covers_content():
    import io

    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=docs.A4)
    c.rect(0, 0, *docs.A4, fill=1)
    c.showPage()
    c.save()
    black = buf.getvalue()
    band = header.band_rows(Target(PaperSize.A4, Resolution.FINE))
    plain = faxpipe.convert([("b.pdf", black)]).pages[0]
    headed = faxpipe.convert([("b.pdf", black), ("c.txt", b"x")],
                             header=faxpipe.Header("ACME", "+1 555 0100")).pages[0]
    assert plain.row(0)[10:-10] == b"\xff" * 196               # the page is black to the top...
    assert plain.black_fraction() > 0.97
    band_ink = sum(headed.row(y).count(b"\x00") for y in range(band)) / (216 * band)
    assert 0.4 < band_ink < 0.995                                # header text on white
    assert headed.row(band + 2).count(b"\xff") > 200            # ...and with a header it starts below it
    assert headed.black_fraction() > 0.9
