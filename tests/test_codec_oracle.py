"""faxpipe's G3/G4 codec against programs written by others: libtiff (Debian's libtiff.so.6
through ctypes, tests/libtiff.py), fax2tiff, Ghostscript, and Pillow's own libtiff.

* pixels: faxpipe → libtiff and libtiff → faxpipe give the page back, for MH, MR, MMR and TIFF
  Compression 2 ("rle" = faxpipe mh with eol=False, rtc=False, byte_align=True), both bit
  orders, standard and fine, fax widths and odd ones;
* bytes: faxpipe's stream is byte-identical to libtiff's for the same options (without RTC, and
  with RTC as libtiff 4.5.0 writes it — see test_rtc_identical_to_libtiff);
* streams written by fax2tiff and Ghostscript decode to the pixels libtiff decodes.

A missing library or program skips, or fails under FAXPIPE_STRICT=1 (tests/tools.py).
"""

from __future__ import annotations

import io
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))

import libtiff  # noqa: E402  (tests/libtiff.py)
from tools import require_lib, require_tool, run_tool, strict  # noqa: E402

from faxpipe import Page  # noqa: E402

pytestmark = pytest.mark.oracle

try:
    from faxpipe import codec  # noqa: E402
except ImportError as exc:  # the C extension is not built
    if strict():
        raise
    pytest.skip(f"faxpipe.codec is not built: {exc}", allow_module_level=True)

SCHEMES = ("mh", "mr", "mmr", "rle")
WIDTHS = (1728, 2048, 2432, 1, 7, 9, 1000, 1733)
YRES = {"standard": 98.0, "fine": 196.0}
K = {"standard": 2, "fine": 4}


@pytest.fixture(autouse=True)
def _libtiff():
    require_lib(libtiff.LIBRARY)


# ---------------------------------------------------------------------------------------------
# helpers


def fp_encode(page: Page, scheme: str, *, fill=False, bit_order="msb", rtc=True) -> bytes:
    if scheme == "rle":
        return codec.encode(page, "mh", eol=False, rtc=False, byte_align=True, bit_order=bit_order)
    if scheme == "mmr":
        rtc = True  # libtiff always ends MMR with EOFB; compare like with like
    return codec.encode(page, scheme, fill=fill, bit_order=bit_order, rtc=rtc)


def fp_decode(data: bytes, scheme: str, width: int, height: int, *, bit_order="msb"):
    if scheme == "rle":
        return codec.decode(data, "mh", width, height=height, byte_align=True, bit_order=bit_order)
    return codec.decode(data, scheme, width, bit_order=bit_order)


def lt_encode(page: Page, scheme: str, *, fill=False, bit_order="msb", rtc=True) -> bytes:
    return libtiff.encode(page, scheme, fill=fill, bit_order=bit_order, rtc=rtc)


def lt_decode(data: bytes, scheme: str, width: int, height: int, yres: float, *, fill=False,
              bit_order="msb") -> Page:
    rows = libtiff.decode(data, scheme, width, height, fill=fill, bit_order=bit_order, yres=yres)
    return Page(width, height, rows)  # Page clears the padding bits after ``width``


def first_difference(a: bytes, b: bytes) -> str:
    n = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    return (f"first difference at byte {n} of {len(a)} (faxpipe) / {len(b)} (libtiff): "
            f"faxpipe {a[n:n + 6].hex()} libtiff {b[n:n + 6].hex()}")


def content(kind: str, width: int, height: int, yres: float) -> Page:
    stride = (width + 7) // 8
    if kind == "white":
        data = bytes(stride * height)
    elif kind == "black":
        data = b"\xff" * (stride * height)
    elif kind == "checker":
        data = b"".join((b"\xaa" if r % 2 == 0 else b"\x55") * stride for r in range(height))
    elif kind == "random":
        data = np.random.default_rng(width * 7919 + height).integers(
            0, 256, stride * height, dtype=np.uint8).tobytes()
    elif kind == "sparse":  # short runs among long ones: makeup codes, pass modes
        rng = np.random.default_rng(width + 31 * height)
        bits = rng.random((height, stride * 8)) < 0.04
        bits |= np.repeat(rng.random((height // 4 + 1, stride * 8)) < 0.01, 4, axis=0)[:height]
        data = np.packbits(bits, axis=1).tobytes()
    else:
        raise ValueError(kind)
    return Page(width, height, data, 204.0, yres)


def libtiff_overflows(page: Page, scheme: str) -> bool:
    """libtiff 4.5.0's 1-D decoder fails ("Buffer overflow") on rows with more runs than
    pels, i.e. a 1-pel checkerboard row starting black, at the fax widths."""
    return scheme in ("mh", "rle") and page.width >= 1728 and page.height > 0 \
        and page.data[:page.stride] == b"\xaa" * page.stride


def check_round_trips(page: Page, scheme: str, *, fill=False, bit_order="msb") -> None:
    """faxpipe → libtiff and libtiff → faxpipe both give ``page`` back."""
    ours = fp_encode(page, scheme, fill=fill, bit_order=bit_order)
    theirs = lt_encode(page, scheme, fill=fill, bit_order=bit_order)
    if libtiff_overflows(page, scheme):
        with pytest.raises(libtiff.LibTiffError, match="Buffer overflow"):
            lt_decode(ours, scheme, page.width, page.height, page.yres, bit_order=bit_order)
    else:
        got = lt_decode(ours, scheme, page.width, page.height, page.yres, fill=fill,
                        bit_order=bit_order)
        assert got == page, f"libtiff decodes faxpipe's {scheme} stream to other pixels"
    decoded = fp_decode(theirs, scheme, page.width, page.height, bit_order=bit_order)
    assert decoded.page == page, f"faxpipe decodes libtiff's {scheme} stream to other pixels"
    assert decoded.stats.bad_rows == 0


# ---------------------------------------------------------------------------------------------
# small pages of every width: pixels both ways, and bytes


@pytest.mark.parametrize("res", ["standard", "fine"])
@pytest.mark.parametrize("bit_order", ["msb", "lsb"])
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("kind", ["white", "black", "checker", "random", "sparse"])
@pytest.mark.parametrize("width", WIDTHS)
def test_small_pages(width, kind, scheme, bit_order, res):
    page = content(kind, width, 12, YRES[res])  # 12 rows: a multiple of K at both resolutions
    for fill in ((False, True) if scheme in ("mh", "mr") else (False,)):
        check_round_trips(page, scheme, fill=fill, bit_order=bit_order)
        # byte-identical without RTC (Compression 2 and MMR have none / always EOFB)
        ours = fp_encode(page, scheme, fill=fill, bit_order=bit_order, rtc=False)
        theirs = lt_encode(page, scheme, fill=fill, bit_order=bit_order, rtc=False)
        assert ours == theirs, f"{scheme} fill={fill}: {first_difference(ours, theirs)}"


@pytest.mark.parametrize("height", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_short_pages(height, scheme):
    """Heights that are not multiples of K, and the empty page."""
    page = content("random", 1728, height, 196.0)
    if not height:  # libtiff refuses an image of zero rows; faxpipe must round-trip it
        for scheme_ in ("mh", "mr", "mmr"):
            assert codec.decode(codec.encode(page, scheme_), scheme_, 1728).page == page
        return
    check_round_trips(page, scheme)
    ours = fp_encode(page, scheme, rtc=False)
    theirs = lt_encode(page, scheme, rtc=False)
    assert ours == theirs, first_difference(ours, theirs)


def banded(width: int, yres: float) -> Page:
    """Bands that send the 2-D coders from their search to their tables of the reference row
    and back (busy, irregular rows: dithered noise; busy, regular ones: a checkerboard; white;
    sparse), each band long enough for the row-by-row choice to act on it."""
    rng = np.random.default_rng(width)
    stride = (width + 7) // 8
    noise = lambda rows: rng.integers(0, 256, stride * rows, dtype=np.uint8).tobytes()  # noqa: E731
    checker = content("checker", width, 40, yres).data
    sparse = content("sparse", width, 40, yres).data
    data = noise(90) + checker + noise(300) + bytes(stride * 3) + noise(40) + sparse + noise(20)
    return Page(width, len(data) // stride, data, 204.0, yres)


@pytest.mark.parametrize("res", ["standard", "fine"])
@pytest.mark.parametrize("scheme", ["mr", "mmr"])
@pytest.mark.parametrize("width", [1728, 2432, 1001, 4864, 4865])
def test_busy_bands(width, scheme, res):
    """Busy rows go to encode_2d_table / decode_2d_table and back (4864 is the widest row the
    tables take, NEXT_STRIDE - 16 in _t4.c; 4865 is searched throughout): the same bytes as
    libtiff, and the page back both ways."""
    page = banded(width, YRES[res])
    check_round_trips(page, scheme)
    ours = fp_encode(page, scheme, rtc=False)
    theirs = lt_encode(page, scheme, rtc=False)
    assert ours == theirs, first_difference(ours, theirs)


# ---------------------------------------------------------------------------------------------
# the benchmark pages at full size


@pytest.fixture(scope="module")
def bench_pages():
    pages = pytest.importorskip("pages")  # bench/pages.py (needs its fonts)
    return pages


@pytest.mark.parametrize("bit_order", ["msb", "lsb"])
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("res", ["standard", "fine"])
@pytest.mark.parametrize("name", ["text", "letter", "photo", "white", "checker", "noise"])
def test_bench_pages(bench_pages, name, res, scheme, bit_order):
    page = bench_pages.page(name, res)
    if bit_order == "lsb":
        page = Page(page.width, 256, page.data[:256 * page.stride], page.xres, page.yres)
    ours = fp_encode(page, scheme, bit_order=bit_order, rtc=False)
    theirs = lt_encode(page, scheme, bit_order=bit_order, rtc=False)
    assert ours == theirs, f"{name}/{res}/{scheme}: {first_difference(ours, theirs)}"
    decoded = fp_decode(theirs, scheme, page.width, page.height, bit_order=bit_order)
    assert decoded.page == page
    if libtiff_overflows(page, scheme):
        return  # libtiff 4.5.0 cannot decode a row of 1,729 runs (see test_checkerboard_mh)
    with_rtc = fp_encode(page, scheme, bit_order=bit_order)
    got = lt_decode(with_rtc, scheme, page.width, page.height, page.yres, bit_order=bit_order)
    assert got == page


@pytest.mark.parametrize("bit_order", ["msb", "lsb"])
@pytest.mark.parametrize("res", ["standard", "fine"])
def test_checkerboard_mh(res, bit_order):
    """A 1-pel checkerboard starting black has 1,729 runs per row (first white run empty):
    libtiff 4.5.0 fails to decode its own MH of it; faxpipe must not."""
    height = {"standard": 1143, "fine": 2287}[res]
    page = content("checker", 1728, height, YRES[res])
    theirs = lt_encode(page, "mh", bit_order=bit_order)
    decoded = codec.decode(theirs, "mh", 1728, bit_order=bit_order)
    assert decoded.page == page
    assert decoded.stats.bad_rows == 0 and decoded.stats.terminated


# ---------------------------------------------------------------------------------------------
# RTC as libtiff writes it


def _rtc_cases():
    for scheme in ("mh", "mr"):
        for fill in (False, True):
            for res in ("standard", "fine"):
                yield scheme, fill, res


# libtiff 4.5.0 pads the last row to a byte boundary (Fax3PostEncode flushes) before the six
# EOLs of RTC, writes them without fill, then flushes again in Fax3Close, which adds a 0x00 byte
# when RTC ended on a byte boundary (always in MH). faxpipe imitates that layout.
@pytest.mark.parametrize("scheme,fill,res", list(_rtc_cases()))
def test_rtc_identical_to_libtiff(scheme, fill, res):
    # height a multiple of K, so that libtiff's RTC tag bit (that of the next row) is 1 as T.4 says
    page = content("sparse", 1728, 4 * K[res] + (0 if scheme == "mr" else 1), YRES[res])
    ours = fp_encode(page, scheme, fill=fill)
    theirs = lt_encode(page, scheme, fill=fill)
    assert ours == theirs, first_difference(ours, theirs)


# ---------------------------------------------------------------------------------------------
# Pillow (its own libtiff) as a second oracle


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("bit_order", ["msb", "lsb"])
@pytest.mark.parametrize("width", [1728, 1733, 9])
def test_pillow_decodes_faxpipe(width, bit_order, scheme):
    from PIL import Image

    page = content("sparse", width, 40, 196.0)
    layout = libtiff.layout_for(scheme, width, page.height, bit_order=bit_order, yres=196.0)
    tif = libtiff.tiff_file(fp_encode(page, scheme, bit_order=bit_order), layout)
    with Image.open(io.BytesIO(tif)) as image:
        image.load()
        assert Page.from_image(image) == page


# ---------------------------------------------------------------------------------------------
# fax2tiff: libtiff decodes faxpipe's raw G3 / G4 and re-encodes it; faxpipe decodes that


def decode_strips(strips) -> list[Page]:
    """Decode each page of ``libtiff.read_strips`` output with faxpipe, strip by strip."""
    pages: dict[int, list[bytes]] = {}
    layouts = {}
    for s in strips:
        got = fp_decode(s.data, s.scheme, s.layout.width, s.rows, bit_order=s.bit_order)
        assert got.stats.bad_rows == 0, f"page {s.page} strip {s.index}: {got.stats}"
        rows = got.page.data[:s.rows * got.page.stride]
        if got.page.height < s.rows:  # a strip may end without RTC: pad as libtiff does
            rows += bytes((s.rows - got.page.height) * got.page.stride)
        pages.setdefault(s.page, []).append(rows)
        layouts[s.page] = s.layout
    return [Page(layouts[p].width, layouts[p].height, b"".join(chunks)) for p, chunks in sorted(pages.items())]


@pytest.mark.parametrize("output", [["-5"], ["-6"], ["-8"], ["-5", "-p"]])
@pytest.mark.parametrize("scheme,fill,bit_order", [
    ("mh", False, "msb"), ("mh", True, "lsb"), ("mr", False, "lsb"), ("mr", True, "msb"),
    ("mmr", False, "lsb"),
])
def test_fax2tiff(tmp_path, scheme, fill, bit_order, output):
    require_tool("fax2tiff")
    page = content("sparse", 1728, 96, 196.0)
    raw = tmp_path / "in.g3"
    raw.write_bytes(fp_encode(page, scheme, fill=fill, bit_order=bit_order))
    out = tmp_path / "out.tif"
    argv = ["fax2tiff", "-M" if bit_order == "msb" else "-L", "-R", "196", "-X", "1728",
            {"mh": "-1", "mr": "-2", "mmr": "-4"}[scheme], *(["-A"] if fill else []),
            *output, "-o", str(out), str(raw)]
    done = run_tool(*argv)
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr.lower(), done.stderr
    (layout, rows), = libtiff.read_pages(str(out))
    # fax2tiff turns the EOLs of RTC / EOFB into a few extra white rows: ignore those
    assert layout.height - page.height in range(0, 7)
    extra = rows[page.height * page.stride:]
    assert not any(extra), "fax2tiff decoded black pels after the page"
    got = Page(page.width, page.height, rows[:page.height * page.stride])
    assert got == page, "fax2tiff (libtiff) decoded other pixels"
    (ours,) = decode_strips(libtiff.read_strips(str(out)))
    assert ours == Page(layout.width, layout.height, rows)


# ---------------------------------------------------------------------------------------------
# Ghostscript's fax devices: faxpipe decodes what gs writes to the pixels libtiff decodes

PS_PAGE = b"""%!PS
/Times-Roman findfont 11 scalefont setfont
72 720 moveto (faxpipe oracle page: Ghostscript tiffg3 / tiffg32d / tiffg4) show
newpath 100 500 80 0 360 arc 0.5 setgray fill
0 setgray 4 setlinewidth 72 300 moveto 540 420 lineto stroke
0 1 40 { dup 12 mul 72 add 150 moveto 0 60 rlineto 1 setlinewidth stroke pop } for
/Helvetica-Bold findfont 40 scalefont setfont 72 620 moveto (RTC EOL EOFB) show
showpage
%!PS second page
/Courier findfont 9 scalefont setfont
0 1 60 { dup 11 mul 60 add 72 exch moveto (0123456789 the quick brown fox jumps over the lazy dog) show pop } for
showpage
"""


@pytest.mark.parametrize("strip", ["one", "many"])
@pytest.mark.parametrize("device", ["tiffg3", "tiffg32d", "tiffg4", "tiffcrle"])
def test_ghostscript(tmp_path, device, strip):
    require_tool("gs")
    src = tmp_path / "in.ps"
    src.write_bytes(PS_PAGE)
    out = tmp_path / "out.tif"
    argv = ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", f"-sDEVICE={device}", "-r204x196",
            "-sPAPERSIZE=a4", f"-sOutputFile={out}", str(src)]
    if strip == "one":
        argv.insert(5, "-dMaxStripSize=0")
    done = run_tool(*argv)
    assert done.returncode == 0, done.stderr
    expected = [Page(layout.width, layout.height, rows) for layout, rows in libtiff.read_pages(str(out))]
    assert len(expected) == 2 and all(p.black_fraction() > 0.001 for p in expected)
    assert decode_strips(libtiff.read_strips(str(out))) == expected
