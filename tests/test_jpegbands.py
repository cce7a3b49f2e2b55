"""JPEGs decoded by libjpeg in bands on two cores and shrunk onto the page as the rows arrive
(faxpipe.normalize.jpegbands, the codec's _jpeg extension): the same page as one whole decode
followed by fit_grey, pel for pel, however the rows are cut; everything it cannot do is left to
the other paths; the decoder object's bounds."""

from __future__ import annotations

import io
import math
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import faxpipe
from faxpipe.errors import DocumentError
from faxpipe.normalize import jpegbands, turbojpeg
from faxpipe.normalize.geometry import Grey, Target, fit_grey, needed_scale
from faxpipe.page import PaperSize, Resolution

sys.path.insert(0, str(Path(__file__).resolve().parent))
from documents import photo_jpeg  # noqa: E402
from tools import require_lib, strict  # noqa: E402

FINE = Target(PaperSize.A4, Resolution.FINE)


@pytest.fixture(autouse=True)
def _extension():
    if not jpegbands.available():
        message = "faxpipe.codec._jpeg is not built (Debian: libjpeg62-turbo-dev, then build_ext)"
        if strict():
            pytest.fail(f"FAXPIPE_STRICT=1 and {message}")
        pytest.skip(message)


def _jpeg(kind: str, width: int = 2000, height: int = 2600) -> bytes:
    if kind == "photo":  # 4:2:0, the bench's kind of file
        return photo_jpeg(width, height, quality=85)
    rgb = Image.open(io.BytesIO(photo_jpeg(width, height, quality=95)))
    out = io.BytesIO()
    options = {"quality": 85}
    if kind == "grey":
        rgb = rgb.convert("L")
    elif kind == "444":
        options["subsampling"] = 0
    elif kind == "progressive":
        options["progressive"] = True
    elif kind == "restarts":
        options["restart_marker_rows"] = 1
    rgb.save(out, "JPEG", **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    kinds = {k: _jpeg(k) for k in ("photo", "grey", "444", "progressive", "restarts")}
    kinds["odd"] = photo_jpeg(2011, 2617, quality=85)  # sizes that are no multiple of a block
    return kinds


def _size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def _need(size: tuple[int, int]) -> tuple[int, int]:
    """The pels the fine A4 page needs of an image this size (as image.jpeg_pages asks)."""
    scale = min(needed_scale(FINE, *size), 1.0)
    return (math.ceil(size[0] * scale), math.ceil(size[1] * scale))


def _whole(data: bytes, need) -> Grey:
    """The reference: the whole image decoded by TurboJPEG (another API of the library), then
    fit_grey."""
    require_lib(turbojpeg.LIBRARY, "libturbojpeg0")
    grey = turbojpeg.decode_grey(data, _size(data), need)
    assert grey is not None
    return fit_grey(FINE, grey)


@pytest.mark.parametrize("kind", ["photo", "grey", "444", "progressive", "restarts", "odd"])
def test_bands_make_the_page_of_the_whole_decode_however_the_rows_are_cut(kind, files):
    data = files[kind]
    need = _need(_size(data))
    whole = _whole(data, need)
    for split in (None, 1.0, 0.0, 0.5, 0.37, 0.9):
        page = jpegbands.page(data, _size(data), need, FINE, split=split)
        assert page is not None, split
        assert (page.width, page.height) == (whole.width, whole.height)
        assert page.pixels == whole.pixels, f"{kind}, split {split}"
    # and the page is not trivially white: the photograph is on it
    assert np.frombuffer(whole.pixels, np.uint8).mean() < 200


def test_one_core_decodes_in_this_thread_alone(files, monkeypatch):
    data = files["photo"]
    need = _need(_size(data))
    whole = _whole(data, need)
    monkeypatch.setattr(jpegbands, "usable_cores", lambda: 1)

    def no_threads(*args, **kwargs):
        raise AssertionError("a thread was started on one core")

    monkeypatch.setattr(threading, "Thread", no_threads)
    page = jpegbands.page(data, _size(data), need, FINE)
    assert page is not None and page.pixels == whole.pixels


def test_the_cut_needs_a_free_core(monkeypatch):
    monkeypatch.setattr(jpegbands, "usable_cores", lambda: 2)
    monkeypatch.setattr(jpegbands, "_others_running", lambda: 0)
    assert jpegbands.default_split(4_000_000) == jpegbands.SPLIT_SHARE
    assert jpegbands.default_split(1000) == 1.0  # small: not worth a thread
    monkeypatch.setattr(jpegbands, "_others_running", lambda: 1)
    assert jpegbands.default_split(4_000_000) == 0.0  # the second thread decodes it all
    monkeypatch.setattr(jpegbands, "usable_cores", lambda: 4)
    assert jpegbands.default_split(4_000_000) == jpegbands.SPLIT_SHARE
    monkeypatch.setattr(jpegbands, "usable_cores", lambda: 1)
    assert jpegbands.default_split(4_000_000) == 1.0
    assert jpegbands._others_running() >= 0  # read from /proc/loadavg, or 0


def test_convert_takes_the_bands_path_for_an_upright_jpeg(files, monkeypatch):
    used = []
    real = jpegbands.page
    monkeypatch.setattr(jpegbands, "page", lambda *a, **k: used.append(real(*a, **k)) or used[-1])
    page = faxpipe.convert([("p.jpg", files["photo"])], "fine").pages[0]
    assert len(used) == 1 and used[0] is not None
    assert (page.width, page.height) == (1728, 2287)
    monkeypatch.setattr(jpegbands, "_jpeg", None)
    assert faxpipe.convert([("p.jpg", files["photo"])], "fine").pages[0] == page  # turbojpeg path


def test_what_the_bands_leave_to_the_other_paths(files):
    data = files["photo"]
    size, need = _size(data), _need(_size(data))
    # a header that disagrees with Pillow's reading of it
    assert jpegbands.page(data, (size[0] + 1, size[1]), need, FINE) is None
    # CMYK
    cmyk = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("CMYK").save(cmyk, "JPEG")
    assert jpegbands.page(cmyk.getvalue(), size, need, FINE) is None
    # content turned on the page (landscape), and content enlarged onto it
    wide = photo_jpeg(2600, 2000, quality=80)
    assert jpegbands.page(wide, (2600, 2000), (2600, 2000), FINE) is None
    small = photo_jpeg(800, 1000, quality=80)
    assert jpegbands.page(small, (800, 1000), (800, 1000), FINE) is None
    # not a JPEG at all
    assert jpegbands.page(b"not a jpeg", size, need, FINE) is None


@pytest.mark.parametrize("where", [0.3, 0.85])
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damage_in_either_decoders_rows_leaves_the_file_to_pillow(where, damage, files):
    """Damage in the top rows (this thread's decoder, and the skipping one) or in the bottom
    rows (the second thread's): None, threads ended; faxpipe.convert then gives Pillow's
    verdict or Pillow's page, as before the bands."""
    data = files["photo"]
    size, need = _size(data), _need(_size(data))
    at = int(len(data) * where)
    bad = data[:at] if damage == "truncated" else data[:at] + bytes([0xFF, 0xD9]) + data[at + 2:]
    before = threading.active_count()
    for split in (None, 0.5, 1.0, 0.0):
        assert jpegbands.page(bad, size, need, FINE, split=split) is None
    assert threading.active_count() == before
    try:
        faxpipe.convert([("bad.jpg", bad)], "fine").pages[0]
    except DocumentError as exc:
        assert "bad.jpg: a damaged JPEG image" in str(exc)


def test_decoder_checks_its_arguments(files):
    from faxpipe.codec import _jpeg

    data = files["photo"]
    decoder = _jpeg.Decoder(data)
    assert decoder.header() == (2000, 2600, 3, True, False)
    with pytest.raises(ValueError):
        decoder.read(bytearray(2000), 0, 2000, 1)  # not started
    w, h, imcu = decoder.start(7, 8)
    assert (w, h) == (1750, 2275) and imcu >= 1
    with pytest.raises(ValueError):
        decoder.start(7, 8)  # once
    with pytest.raises(ValueError):
        decoder.read(bytearray(w * 2 - 1), 0, w, 2)  # the buffer is a pel short
    with pytest.raises(ValueError):
        decoder.read(bytearray(w * 2), 1, w, 2)  # the offset pushes the rows past its end
    with pytest.raises(ValueError):
        decoder.read(bytearray(w * 2), 0, w - 1, 2)  # a stride below the width
    with pytest.raises(ValueError):
        decoder.read(bytearray(w * 2), -1, w, 1)
    with pytest.raises(ValueError):
        decoder.skip(h + 1)  # past the end
    with pytest.raises(TypeError):
        decoder.read(b"\0" * w, 0, w, 1)  # read-only
    rows = bytearray(w * 3)
    decoder.read(rows, 0, w, 3)
    assert decoder.row == 3 and any(rows)
    decoder.skip(h - 3 - 2)
    decoder.read(rows, w, w, 2)
    assert decoder.row == h
    with pytest.raises(ValueError):
        decoder.read(rows, 0, w, 1)  # nothing left
    with pytest.raises(_jpeg.Error):
        _jpeg.Decoder(b"\xff\xd8\xff\xd9")  # no frame
    with pytest.raises(_jpeg.Error):
        _jpeg.Decoder(b"")
    broken = _jpeg.Decoder(data[: len(data) // 3])
    w, h, _ = broken.start(1, 8)
    with pytest.raises(_jpeg.Error, match="Premature end"):
        broken.read(bytearray(w * h), 0, w, h)
    with pytest.raises(_jpeg.Error):  # dead from then on
        broken.read(bytearray(w), 0, w, 0)
    cmyk = io.BytesIO()
    Image.new("CMYK", (16, 16)).save(cmyk, "JPEG")
    decoder = _jpeg.Decoder(cmyk.getvalue())
    assert decoder.header()[2:4] == (4, False)
    with pytest.raises(ValueError, match="CMYK"):
        decoder.start(1, 1)
