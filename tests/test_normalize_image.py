"""JPEG and TIFF sources: orientation, grey / CMYK / 16-bit, reduced-scale decoding, pixel
limits, fax TIFFs taken as they are."""

from __future__ import annotations

import io
import struct
import sys
from pathlib import Path

import pytest
from PIL import Image

import faxpipe
from faxpipe import tiff as faxtiff
from faxpipe.errors import DocumentError
from faxpipe.normalize import Limits, image, jpegbands, turbojpeg
from faxpipe.normalize.geometry import Target
from faxpipe.page import Page, PaperSize, Resolution

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
import make_documents as docs  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tools import require_lib, strict  # noqa: E402


def differing(a: Page, b: Page) -> float:
    x = int.from_bytes(a.data, "big") ^ int.from_bytes(b.data, "big")
    return x.bit_count() / (a.width * a.height)


def test_exif_orientation_makes_the_picture_upright():
    upright = faxpipe.convert([("u.jpg", docs.jpeg(docs.picture(300, 400)))]).pages[0]
    turned = faxpipe.convert([("t.jpg", docs.exif_rotated_jpeg(6))]).pages[0]
    assert differing(upright, turned) < 0.05
    wrong = faxpipe.convert([("w.jpg", docs.exif_rotated_jpeg(8))]).pages[0]
    assert differing(upright, wrong) > 0.2


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grey_and_cmyk_jpegs_look_like_the_colour_one(mode):
    colour = faxpipe.convert([("c.jpg", docs.jpeg(docs.picture(300, 400)))]).pages[0]
    other = faxpipe.convert([("o.jpg", docs.jpeg(docs.picture(300, 400, mode)))]).pages[0]
    assert differing(colour, other) < 0.12


def _spy_draft(monkeypatch) -> list:
    asked = []
    from PIL import JpegImagePlugin

    real = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        asked.append(size)
        return real(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    return asked


def _without_libturbojpeg(monkeypatch) -> None:
    """Neither libjpeg path: Pillow decodes every JPEG."""
    monkeypatch.setattr(turbojpeg, "_library", lambda: None)
    monkeypatch.setattr(jpegbands, "_jpeg", None)


def _decode(data: bytes, need: tuple[int, int]):
    return image.decode_jpeg(Image.open(io.BytesIO(data)), data, need, "x.jpg")


@pytest.mark.parametrize("path", ["bands", "turbojpeg"])
def test_huge_jpeg_is_decoded_by_libjpeg_turbo_at_the_smallest_eighth_that_holds_the_page(path, monkeypatch):
    decoded = []

    def spy(real, size_of):  # records what was decoded: (width, height, bytes)
        return lambda *args: decoded.append(size_of(result := real(*args))) or result

    if path == "bands":  # libjpeg in bands (the codec's _jpeg extension)
        require_jpeg_extension()
        monkeypatch.setattr(jpegbands, "_Bands", spy(jpegbands._Bands, lambda b: (b.w, b.h, len(b.pixels))))
    else:  # the extension missing: TurboJPEG through ctypes
        require_lib(turbojpeg.LIBRARY, "libturbojpeg0")
        assert turbojpeg.available()
        monkeypatch.setattr(jpegbands, "_jpeg", None)
        monkeypatch.setattr(turbojpeg, "decode_grey",
                            spy(turbojpeg.decode_grey, lambda g: (g.width, g.height, len(g.pixels))))
    asked = _spy_draft(monkeypatch)
    data = docs.jpeg(docs.picture(3000, 4000), quality=30)
    page = faxpipe.convert([("big.jpg", data)], "fine").pages[0]
    assert (page.width, page.height) == (1728, 2287)
    # the page needs 1728 pels across (0.576 of 3000): 5/8 (1875×2500) is the smallest eighth
    # that holds them (1/2 = 1500 would not: Pillow's draft could only decode it in full)
    assert decoded == [(1875, 2500, 1875 * 2500)]
    assert asked == []  # Pillow did not decode it
    data = docs.jpeg(docs.picture(4800, 6400), quality=30)
    assert faxpipe.convert([("big.jpg", data)], "standard").pages[0].height == 1143
    assert decoded[-1][:2] == (1800, 2400)  # 3/8: 1728 of 4800 pels are needed


def require_jpeg_extension() -> None:
    """The codec's libjpeg extension (built when libjpeg62-turbo-dev is installed); skip, or
    fail under FAXPIPE_STRICT=1, without it."""
    if not jpegbands.available():
        message = "faxpipe.codec._jpeg is not built (Debian: libjpeg62-turbo-dev, then build_ext)"
        if strict():
            pytest.fail(f"FAXPIPE_STRICT=1 and {message}")
        pytest.skip(message)


def test_factor_is_the_smallest_that_is_still_larger_than_the_page():
    eighths = tuple((n, 8) for n in range(1, 9))
    assert turbojpeg.choose_factor(3000, 4000, 1728, 2304, eighths) == (5, 8)
    assert turbojpeg.choose_factor(3000, 4000, 1500, 2000, eighths) == (4, 8)
    assert turbojpeg.choose_factor(3000, 4000, 1501, 10, eighths) == (5, 8)
    assert turbojpeg.choose_factor(3000, 4000, 3000, 4000, eighths) == (8, 8)
    assert turbojpeg.choose_factor(100, 100, 5000, 5000, eighths) == (1, 1)  # never enlarged
    assert turbojpeg.choose_factor(3001, 9, 376, 2, eighths) == (1, 8)  # sizes round up
    assert turbojpeg.scaled(3001, (1, 8)) == 376


@pytest.mark.parametrize("kind", ["colour", "progressive", "grey"])
def test_libjpeg_turbo_decodes_what_it_can(kind):
    require_lib(turbojpeg.LIBRARY, "libturbojpeg0")
    picture = docs.picture(400, 300, "L" if kind == "grey" else "RGB")
    data = docs.jpeg(picture, progressive=kind == "progressive")
    grey, decoder = _decode(data, (250, 180))
    assert decoder == "turbojpeg" and (grey.width, grey.height) == (250, 188)  # 5/8
    grey = image.as_image(grey)
    pillow = Image.open(io.BytesIO(data)).convert("L").resize(grey.size, Image.Resampling.BOX)
    assert sum(abs(a - b) for a, b in zip(grey.tobytes(), pillow.tobytes())) / len(grey.tobytes()) < 3


@pytest.mark.parametrize("why", ["cmyk", "truncated", "no library"])
def test_pillow_decodes_what_libjpeg_turbo_leaves(why, monkeypatch):
    asked = _spy_draft(monkeypatch)
    data = docs.jpeg(docs.picture(400, 300, "CMYK" if why == "cmyk" else "RGB"))
    if why == "no library":
        _without_libturbojpeg(monkeypatch)
    else:
        require_lib(turbojpeg.LIBRARY, "libturbojpeg0")
    if why == "truncated":
        assert turbojpeg.decode_grey(data[:len(data) // 2], (400, 300), (400, 300)) is None
        with pytest.raises(DocumentError, match="x.jpg: a damaged JPEG image"):
            _decode(data[:len(data) // 2], (400, 300))
        assert asked == [(400, 300)]
        return
    grey, decoder = _decode(data, (190, 140))
    assert decoder == "pillow" and grey.mode == "L" and grey.size == (200, 150)  # draft: 1/2
    assert asked == [(190, 140)]


def test_pillow_and_libjpeg_turbo_make_the_same_page(monkeypatch):
    require_lib(turbojpeg.LIBRARY, "libturbojpeg0")
    data = docs.jpeg(docs.picture(1200, 1600))
    turbo = faxpipe.convert([("p.jpg", data)]).pages[0]
    _without_libturbojpeg(monkeypatch)
    pillow = faxpipe.convert([("p.jpg", data)]).pages[0]
    assert (turbo.width, turbo.height) == (pillow.width, pillow.height)
    assert differing(turbo, pillow) < 0.03


def test_pixel_limit_refuses_before_decoding():
    small = docs.jpeg(docs.picture(64, 48))
    sof = small.index(b"\xff\xc0")
    bomb = small[:sof + 5] + struct.pack(">HH", 60000, 60000) + small[sof + 9:]
    with pytest.raises(DocumentError) as caught:
        faxpipe.validate([("bomb.jpg", bomb)])
    assert caught.value.code == "fx_file_invalid"
    assert caught.value.reason.startswith("bomb.jpg: ")
    assert "exceeds the limit" in caught.value.reason and "decompression bomb" in caught.value.reason
    bomb = small[:sof + 5] + struct.pack(">HH", 9000, 9000) + small[sof + 9:]   # under Pillow's own limit
    with pytest.raises(DocumentError, match=r"bomb.jpg: 9000×9000 pixels exceeds the limit of 50 megapixels"):
        faxpipe.validate([("bomb.jpg", bomb)], limits=Limits(max_pixels=50_000_000))
    with pytest.raises(DocumentError, match="t.tif: 320×240 pixels exceeds the limit of 0.005 megapixels"):
        faxpipe.convert([("t.tif", docs.tiff([docs.picture(320, 240)]))], limits=Limits(max_pixels=5000))


def test_sixteen_bit_is_scaled_not_clipped():
    grey = image.to_grey(Image.open(io.BytesIO(docs.grey16_tiff())))
    low, high = grey.getextrema()
    assert low < 10 and high > 245
    page = faxpipe.convert([("g.tif", docs.grey16_tiff())], halftone="threshold").pages[0]
    assert 0.2 < page.black_fraction() < 0.8


def test_multipage_colour_tiff():
    data = docs.tiff([docs.picture(320, 240), docs.picture(240, 320)], compression="tiff_lzw")
    document = faxpipe.convert([("two.tif", data)], "fine", "b4")
    assert [(p.width, p.height) for p in document.pages] == [(2048, 2803)] * 2


def test_fax_tiff_that_fits_is_sent_unchanged():
    data = docs.fax_tiff(pages=2)
    source = [tp.page for tp in faxtiff.from_bytes(data)]
    document = faxpipe.convert([("fax.tif", data)])
    assert list(document.pages) == source and document.sources[0].as_is == 2
    # another resolution, another paper width, or a header: resampled instead
    assert faxpipe.convert([("fax.tif", data)], "standard").sources[0].as_is == 0
    assert faxpipe.convert([("fax.tif", data)], paper="b4").sources[0].as_is == 0
    headed = faxpipe.convert([("fax.tif", data)], header="hello")
    assert headed.sources[0].as_is == 0 and headed.pages[0].height == 2287


def test_standard_fax_tiff_is_stretched_to_fine():
    document = faxpipe.convert([("std.tif", docs.fax_tiff(1143, 98))])
    assert (document.pages[0].height, document.pages[0].yres) == (2287, 196)


def test_bilevel_packbits_tiff_with_fax_geometry_is_taken_as_is():
    page = Page.from_image(Image.new("1", (1728, 2287), 1), 204, 196)
    bilevel = page.to_image()
    buf = io.BytesIO()
    bilevel.save(buf, "TIFF", compression="packbits", dpi=(204, 196))
    document = faxpipe.convert([("pb.tif", buf.getvalue())])
    assert document.sources[0].as_is == 1 and document.pages[0] == page


def test_fit_keeps_non_square_dpi():
    """A 204 × 98 dpi image 1728 × 1143 is an A4 page: at fine it becomes 1728 × 2287."""
    grey = Image.new("L", (1728, 1143), 0)
    grey.info["dpi"] = (204, 98)
    page = image.dpi_of(grey)
    assert page == (204.0, 98.0)
    buf = io.BytesIO()
    grey.save(buf, "TIFF", dpi=(204, 98))
    out = faxpipe.convert([("nsq.tif", buf.getvalue())]).pages[0]
    assert out.black_fraction() > 0.98


def test_empty_and_mixed_sources():
    document = faxpipe.convert([("e.pdf", b""), ("a.txt", b"a"), docs.jpeg(docs.picture(50, 50))])
    assert [s.kind for s in document.sources] == ["empty", "text", "jpeg"]
    assert [s.first_page for s in document.sources] == [0, 0, 1]
    assert document.sources[2].name == "input 3" and len(document) == 2
    assert Target(PaperSize.A4, Resolution.FINE).rows == document.pages[1].height
