"""faxpipe.tiff: TIFF Class F (RFC 2306) round trips, libtiff / Ghostscript oracles, hostile input,
and ``faxpipe info``."""

from __future__ import annotations

import functools
import json
import os
import random
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from faxpipe import CodecError, Page, tiff
from faxpipe.cli import main
from tools import require_tool, run_tool

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
COMPRESSIONS = ["g4", "g3-2d", "g3-1d"]
FILL_ORDERS = [1, 2]
WIDTHS = [1728, 2048, 2432, 1000, 1733]
YRES = {"standard": 98.0, "fine": 196.0}
WRITTEN = {"g4": (4, 0), "g3-2d": (3, 5), "g3-1d": (3, 4)}  # compression, T4Options


@functools.lru_cache(maxsize=None)
def drawn_page(width: int = 1728, yres: float = 196.0, height: int | None = None, seed: int = 0) -> Page:
    """Text, a diagonal, 4-pel checkerboard, marks on both edges (a 1-pel checkerboard defeats
    libtiff 4.5's MH decoder, see reference/performance.md)."""
    height = height or (90 if yres < 150 else 150)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    draw.text((12, 6), f"faxpipe {width} fax {seed}", font=ImageFont.truetype(FONT, 26), fill=0)
    draw.line((0, height - 1, width - 1, 0), fill=0, width=2)
    draw.rectangle((width - 37, 8, width - 1, 30), fill=0)
    draw.line((0, 0, 0, height - 1), fill=0)
    for y in range(44, 76, 4):
        for x in range(seed % 4, min(width, 520), 8):
            draw.rectangle((x + (y // 4 % 2) * 4, y, x + (y // 4 % 2) * 4 + 3, y + 3), fill=0)
    return Page.from_image(image, xres=204.0, yres=yres)


def pillow_pages(path) -> list[bytes]:
    """Every frame of a TIFF as Pillow (libtiff) decodes it, packed like Page.to_image()."""
    out = []
    with Image.open(path) as image:
        for n in range(getattr(image, "n_frames", 1)):
            image.seek(n)
            out.append(image.convert("1").tobytes())
    return out


def assert_libtiff_quiet(path) -> None:
    """tiffinfo and tiffinfo -D (which decodes every strip) print no warning or error."""
    for argv in (("tiffinfo", str(path)), ("tiffinfo", "-D", str(path))):
        done = run_tool(*argv)
        assert done.returncode == 0, done.stderr
        assert done.stderr == "", f"{' '.join(argv)}: {done.stderr}"


# ---------------------------------------------------------------------------------------------
# Round trips through faxpipe alone


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("resolution", YRES)
@pytest.mark.parametrize("fill_order", FILL_ORDERS)
@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_round_trip(compression, fill_order, resolution, width):
    page = drawn_page(width, YRES[resolution])
    data = tiff.to_bytes([page], compression, fill_order)
    (back,) = tiff.from_bytes(data)
    assert back.page == page
    assert (back.page.xres, back.page.yres) == (204.0, YRES[resolution])
    assert (back.compression, back.t4_options if back.compression == 3 else 0) == WRITTEN[compression]
    assert back.fill_order == fill_order and back.photometric == 0 and back.byte_order == "II"
    assert back.strip_count == 1 and back.rows_per_strip == page.height and back.bad_rows == 0
    assert back.page_number == (0, 1) and back.software == "faxpipe"


def test_multi_page_file_and_page_numbers(tmp_path):
    pages = [drawn_page(1728, 98.0), drawn_page(2048, 196.0), drawn_page(1000, 196.0, seed=3)]
    path = tmp_path / "three.tif"
    size = tiff.write(path, pages, compression="g3-2d")
    assert size == path.stat().st_size
    back = tiff.read(path)
    assert [p.page for p in back] == pages
    assert [p.page_number for p in back] == [(0, 3), (1, 3), (2, 3)]
    assert [p.page.yres for p in back] == [98.0, 196.0, 196.0]
    with open(path, "rb") as f:
        assert [p.page for p in tiff.read(f)] == pages


@pytest.mark.parametrize("compression", ["g3-1d", "g3-2d", "g4"])
def test_pages_coded_on_several_threads_come_out_as_coded_on_one(monkeypatch, compression):
    pages = [drawn_page(1728, 196.0, seed=i) for i in range(5)] + [drawn_page(2048, 98.0, seed=9)]
    threaded = tiff.to_bytes(pages, compression)
    monkeypatch.setattr(tiff, "_ENCODERS", 1)
    assert tiff.to_bytes(pages, compression) == threaded
    assert [p.page for p in tiff.from_bytes(threaded)] == pages


def test_big_endian_write_and_file_object(tmp_path):
    import io
    buf = io.BytesIO()
    tiff.write(buf, [drawn_page()], compression="g4", byte_order="MM")
    assert buf.getvalue()[:4] == b"MM\0*"
    (back,) = tiff.from_bytes(buf.getvalue())
    assert back.byte_order == "MM" and back.page == drawn_page()


def _ifd_layout(data: bytes):
    """(IFD offsets, [(tag, type, count, value-or-offset)] per IFD) of a little-endian file."""
    offset, ifds = struct.unpack_from("<I", data, 4)[0], []
    while offset:
        (n,) = struct.unpack_from("<H", data, offset)
        ifds.append((offset, [struct.unpack_from("<HHII", data, offset + 2 + 12 * i) for i in range(n)]))
        (offset,) = struct.unpack_from("<I", data, offset + 2 + 12 * n)
    return ifds


def test_tags_ascending_and_offsets_word_aligned():
    data = tiff.to_bytes([drawn_page(1733, 98.0), drawn_page(1000)], "g3-1d")
    sizes = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8}
    for offset, entries in _ifd_layout(data):
        assert offset % 2 == 0
        tags = [e[0] for e in entries]
        assert tags == sorted(tags) and len(set(tags)) == len(tags)
        assert {254, 256, 257, 258, 259, 262, 266, 273, 274, 277, 278, 279, 282, 283, 292, 296,
                297, 305} <= set(tags)
        for tag, ftype, count, value in entries:
            if sizes[ftype] * count > 4 or tag == 273:
                assert value % 2 == 0, f"tag {tag} points at odd offset {value}"


def test_write_refuses_what_tiff_f_cannot_hold():
    with pytest.raises(CodecError):
        tiff.to_bytes([drawn_page()], "jpeg")
    with pytest.raises(CodecError):
        tiff.to_bytes([drawn_page()], "g4", fill_order=3)
    with pytest.raises(CodecError):
        tiff.to_bytes([], "g4")
    with pytest.raises(CodecError):
        tiff.to_bytes([Page.blank(1728, 0)], "g4")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(1, 300), height=st.integers(1, 40), seed=st.integers(0, 2**32 - 1),
    density=st.sampled_from([0.0, 0.05, 0.5, 0.95]), compression=st.sampled_from(COMPRESSIONS),
    fill_order=st.sampled_from(FILL_ORDERS),
)
def test_random_bitmaps_round_trip(width, height, seed, density, compression, fill_order):
    rng = random.Random(seed)
    stride = (width + 7) // 8
    bits = bytes(sum(1 << i for i in range(8) if rng.random() < density) for _ in range(stride * height))
    page = Page(width, height, bits, 204.0, rng.choice([98.0, 196.0, 391.0]))
    (back,) = tiff.from_bytes(tiff.to_bytes([page], compression, fill_order))
    assert back.page == page and back.bad_rows == 0


# ---------------------------------------------------------------------------------------------
# libtiff decodes what faxpipe writes


@pytest.mark.oracle
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("fill_order", FILL_ORDERS)
@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_libtiff_decodes_what_we_write(tmp_path, compression, fill_order, width):
    pages = [drawn_page(width, 98.0), drawn_page(width, 196.0, seed=1)]
    ours = tmp_path / "ours.tif"
    tiff.write(ours, pages, compression=compression, fill_order=fill_order)
    assert_libtiff_quiet(ours)
    # Pillow (its own libtiff) decodes the same pixels
    assert pillow_pages(ours) == [p.to_image().tobytes() for p in pages]
    # Debian's libtiff decodes them (tiffcp -c none), and faxpipe reads the uncompressed result
    plain = tmp_path / "plain.tif"
    done = run_tool("tiffcp", "-c", "none", str(ours), str(plain))
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert [p.page for p in tiff.read(plain)] == pages
    # tiffcmp against a reference whose raw samples are the page bits, written by Pillow
    for n, page in enumerate(pages):
        ref = tmp_path / f"ref{n}.tif"
        Image.frombytes("1", (page.width, page.height), page.data).save(ref)
        single = tmp_path / f"ours{n}.tif"
        tiff.write(single, [page], compression=compression, fill_order=fill_order)
        done = run_tool("tiffcmp", "-t", str(single), str(ref))
        assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------------------------------------
# faxpipe reads what libtiff, fax2tiff and Ghostscript write


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """A WhiteIsZero file written by faxpipe and a BlackIsZero file written by Pillow."""
    root = tmp_path_factory.mktemp("sources")
    pages = [drawn_page(1728, 196.0), drawn_page(1733, 98.0, seed=2)]
    ours = root / "ours.tif"
    tiff.write(ours, pages, compression="g4")
    pillow = root / "pillow.tif"
    images = [p.to_image() for p in pages]
    images[0].save(pillow, save_all=True, append_images=images[1:], dpi=(204, 196))
    return {"ours": (ours, pages), "pillow": (pillow, pages)}


TIFFCP_VARIANTS = [
    ["-c", "g3"], ["-c", "g3:2d"], ["-c", "g3:2d:fill"], ["-c", "g3:1d:fill"], ["-c", "g4"],
    ["-c", "none"], ["-c", "g4", "-f", "lsb2msb"], ["-c", "g3", "-f", "msb2lsb"],
    ["-c", "g3:2d:fill", "-f", "lsb2msb"], ["-c", "g4", "-B"], ["-c", "g3:2d", "-L"],
    ["-c", "g3:2d", "-r", "16"], ["-c", "g4", "-r", "7", "-B"], ["-c", "g3", "-r", "10"],
    ["-c", "none", "-r", "5", "-f", "lsb2msb"], ["-c", "none", "-B"],
]


@pytest.mark.oracle
@pytest.mark.parametrize("source", ["ours", "pillow"])
@pytest.mark.parametrize("options", TIFFCP_VARIANTS, ids=" ".join)
def test_read_tiffcp_output(tmp_path, sources, source, options):
    src, pages = sources[source]
    out = tmp_path / "tiffcp.tif"
    done = run_tool("tiffcp", *options, str(src), str(out))
    assert done.returncode == 0, done.stderr
    back = tiff.read(out)
    assert [p.page for p in back] == pages
    assert [p.page.to_image().tobytes() for p in back] == pillow_pages(out)
    assert back[0].byte_order == ("MM" if "-B" in options else "II")
    if "-r" in options:
        assert back[0].strip_count > 1
    if "lsb2msb" in options:
        assert back[0].fill_order == 2
    if source == "pillow":
        assert back[0].photometric == 1


FAX2TIFF_VARIANTS = [[], ["-8"], ["-5", "-p"], ["-6", "-a", "-l"], ["-m"], ["-8", "-r", "20"], ["-u"]]


@pytest.mark.oracle
@pytest.mark.parametrize("raw_coding", ["g3", "g3:2d", "g4"])
@pytest.mark.parametrize("options", FAX2TIFF_VARIANTS, ids=lambda o: " ".join(o) or "default")
def test_read_fax2tiff_output(tmp_path, sources, raw_coding, options):
    """libtiff codes a raw fax stream; fax2tiff wraps it into TIFF-F in several ways."""
    src, pages = sources["ours"]
    coded = tmp_path / "coded.tif"
    done = run_tool("tiffcp", "-c", raw_coding, "-r", "100000", "-f", "lsb2msb", str(src), str(coded))
    assert done.returncode == 0, done.stderr
    page = pages[0]
    raw = tmp_path / "page.fax"
    raw.write_bytes(tiff.read(coded)[0].strips[0])
    inputs = {"g3": ["-3", "-1"], "g3:2d": ["-3", "-2"], "g4": ["-4"]}[raw_coding]
    out = tmp_path / "fax2tiff.tif"
    done = run_tool("fax2tiff", *inputs, "-L", "-X", str(page.width), "-R", "196", *options,
                    "-o", str(out), str(raw))
    assert done.returncode == 0, done.stderr
    (back,) = tiff.read(out)
    got = back.page
    if raw_coding == "g4" and got.height == page.height + 1:  # fax2tiff takes EOFB for a row
        assert got.row(page.height) == bytes(page.stride)
        got = Page(got.width, page.height, got.data[:len(page.data)], got.xres, got.yres)
    assert got == page
    assert [back.page.to_image().tobytes()] == pillow_pages(out)


GS_VARIANTS = [(device, resolution, ()) for device in ("tiffg3", "tiffg32d", "tiffg4", "tiffcrle")
               for resolution in ("204x98", "204x196")] + [
    ("tiffcrle", "204x196", ("-dFillOrder=2",)), ("tiffg32d", "204x98", ("-dFillOrder=2",)),
    ("tiffg4", "204x391", ("-dFillOrder=2", "-dMaxStripSize=1000")),
    ("tiffg3", "204x196", ("-dMaxStripSize=2000",)),
]


@pytest.mark.oracle
@pytest.mark.parametrize("device, resolution, extra", GS_VARIANTS,
                         ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_read_ghostscript_output(tmp_path, device, resolution, extra):
    doc = tmp_path / "doc.ps"
    doc.write_text(
        "%!PS\n/Helvetica findfont 24 scalefont setfont\n72 700 moveto (Hello fax, page one) show\n"
        "4 setlinewidth 72 600 moveto 500 520 lineto stroke\nshowpage\n"
        "/Helvetica findfont 36 scalefont setfont\n100 400 moveto (Page two) show\n"
        "newpath 300 300 80 0 360 arc fill\nshowpage\n"
    )
    out = tmp_path / f"{device}.tif"
    done = run_tool("gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", f"-sDEVICE={device}", *extra,
                    f"-r{resolution}", "-sPAPERSIZE=a4", f"-sOutputFile={out}", str(doc))
    assert done.returncode == 0, done.stderr
    back = tiff.read(out)
    assert len(back) == 2
    assert [p.page.to_image().tobytes() for p in back] == pillow_pages(out)
    assert all(0.001 < p.page.black_fraction() < 0.2 for p in back)
    assert back[0].page.yres == float(resolution.split("x")[1]) and back[0].page.width == 1728
    assert back[0].fill_order == (2 if "-dFillOrder=2" in extra else 1)
    if any(e.startswith("-dMaxStripSize") for e in extra):
        assert back[0].strip_count > 1


def test_require_tool_skips_or_fails_under_strict(monkeypatch):
    import tools
    monkeypatch.delenv("FAXPIPE_STRICT", raising=False)
    with pytest.raises(pytest.skip.Exception):
        tools.require_tool("faxpipe-no-such-program")
    monkeypatch.setenv("FAXPIPE_STRICT", "1")
    with pytest.raises(pytest.fail.Exception):
        tools.require_tool("faxpipe-no-such-program")


@pytest.mark.parametrize("xres, yres, name", [
    (204, 98, "standard"), (204, 196, "fine"), (204, 391, "superfine"), (200, 200, "fine"),
    (300, 300, "non-standard"), (204, 150, "non-standard"),
])
def test_info_resolution_names(xres, yres, name):
    from faxpipe.cli.info import resolution_name
    assert resolution_name(xres, yres) == name


# ---------------------------------------------------------------------------------------------
# Not fax TIFFs


@pytest.mark.parametrize("mode, options", [
    ("RGB", {}), ("L", {}), ("I;16", {}), ("P", {}), ("RGB", {"compression": "jpeg"}),
    ("1", {"compression": "tiff_lzw"}), ("1", {"compression": "packbits"}), ("CMYK", {}),
])
def test_non_fax_tiff_is_refused(tmp_path, mode, options):
    path = tmp_path / "not-fax.tif"
    Image.new(mode, (64, 32)).save(path, **options)
    with pytest.raises(tiff.NotFaxTiff) as err:
        tiff.read(path)
    assert isinstance(err.value, CodecError)
    assert "not a fax TIFF" in err.value.reason and "normalized" in err.value.reason
    assert err.value.code == "fx_file_invalid"


# ---------------------------------------------------------------------------------------------
# Hostile input: a clear CodecError, in bounded time


def _bounded(fn, seconds=2.0):
    start = time.perf_counter()
    try:
        return fn()
    finally:
        assert time.perf_counter() - start < seconds


@pytest.fixture(scope="module")
def real_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    files = {c: tiff.to_bytes([drawn_page(1728, 98.0), drawn_page(1733)], c) for c in COMPRESSIONS}
    ours = root / "src.tif"
    ours.write_bytes(files["g4"])
    variants = {"libtiff-g3": ["-c", "g3:2d:fill", "-r", "40"], "libtiff-g4-mm": ["-c", "g4", "-B"]}
    for name, options in variants.items():
        out = root / f"{name}.tif"
        if run_tool("tiffcp", *options, str(ours), str(out)).returncode == 0:
            files[name] = out.read_bytes()
    return files


def test_truncated_files_raise(real_files):
    for name, data in real_files.items():
        for cut in range(0, len(data), 97):
            with pytest.raises(CodecError):
                _bounded(lambda: tiff.from_bytes(data[:cut]))


def test_bit_flips_never_crash(real_files):
    rng = random.Random(2306)
    start = time.perf_counter()
    for name, data in real_files.items():
        for _ in range(150):
            broken = bytearray(data)
            for _ in range(rng.choice([1, 1, 2, 8])):
                broken[rng.randrange(len(broken))] ^= 1 << rng.randrange(8)
            try:
                pages = _bounded(lambda: tiff.from_bytes(bytes(broken)))
            except CodecError as exc:
                assert exc.reason
            else:
                assert all(p.page.height * p.page.stride == len(p.page.data) for p in pages)
    assert time.perf_counter() - start < 60


def _patch(data: bytes, fmt: str, offset: int, *values) -> bytes:
    out = bytearray(data)
    struct.pack_into("<" + fmt, out, offset, *values)
    return bytes(out)


def _entry_offset(data: bytes, tag: int, ifd: int = 0) -> int:
    offset, entries = _ifd_layout(data)[ifd]
    return offset + 2 + 12 * [e[0] for e in entries].index(tag)


def _next_link(data: bytes, ifd: int) -> int:
    offset, entries = _ifd_layout(data)[ifd]
    return offset + 2 + 12 * len(entries)


@pytest.mark.parametrize("make, words", [
    (lambda d: _patch(d, "I", _next_link(d, 1), _ifd_layout(d)[0][0]), "loops"),       # 2-cycle
    (lambda d: _patch(d, "I", _next_link(d, 0), _ifd_layout(d)[0][0]), "loops"),       # self-loop
    (lambda d: _patch(d, "I", _entry_offset(d, 273) + 4, 0x3FFFFFFF), "values"),       # huge count
    (lambda d: _patch(d, "I", _entry_offset(d, 305) + 4, 0xFFFFFFFF), "values"),       # huge ASCII
    (lambda d: _patch(d, "H", _ifd_layout(d)[0][0], 0xFFFF), "entries"),               # entries
    (lambda d: _patch(d, "I", _entry_offset(d, 273) + 8, 0xFFFFFF00), "past the end"),  # strip
    (lambda d: _patch(d, "I", _entry_offset(d, 279) + 8, 0x7FFFFFFF), "past the end"),  # count
    (lambda d: _patch(d, "I", 4, 0xFFFFFFF0), "past the end"),                         # first IFD
    (lambda d: _patch(d, "I", _entry_offset(d, 256) + 8, 10**9), "width"),             # geometry
    (lambda d: _patch(d, "I", _entry_offset(d, 257) + 8, 10**7), "height"),
    (lambda d: _patch(d, "I", _entry_offset(d, 278) + 8, 0), "RowsPerStrip"),
    (lambda d: _patch(d, "H", _entry_offset(d, 256) + 2, 2), "field type"),             # ASCII width
    (lambda d: _patch(d, "HHII", _entry_offset(d, 256), 256, 16, 1, 5), "field type"),  # LONG8
    (lambda d: b"II+\0" + d[4:], "BigTIFF"),
    (lambda d: b"XX" + d[2:], "not a TIFF"),
    (lambda d: d[:7], "too short"),
    (lambda d: _patch(d, "I", 4, 0), "no page"),
])
def test_hostile_structures_raise(real_files, make, words):
    data = make(real_files["g4"])
    with pytest.raises(CodecError) as err:
        _bounded(lambda: tiff.from_bytes(data))
    assert words in err.value.reason


def test_declared_pixels_are_bounded(monkeypatch):
    """Many IFDs declaring large pages stop at the decoded-bytes budget, not in the allocator."""
    monkeypatch.setattr(tiff, "MAX_DECODED_BYTES", 4 << 20)
    data = tiff.to_bytes([Page.blank(4096, 2000)] * 20, "g4")
    with pytest.raises(CodecError, match="MiB of pixels"):
        _bounded(lambda: tiff.from_bytes(data))


def test_short_strip_cannot_declare_many_rows():
    data = tiff.to_bytes([Page.blank(1728, 10)], "g4")
    data = _patch(data, "I", _entry_offset(data, 257) + 8, 65536)
    data = _patch(data, "I", _entry_offset(data, 278) + 8, 65536)
    with pytest.raises(CodecError, match="too few"):
        _bounded(lambda: tiff.from_bytes(data))


# ---------------------------------------------------------------------------------------------
# faxpipe info


def test_info_prints_every_page(tmp_path, capsys):
    path = tmp_path / "fax.tif"
    tiff.write(path, [drawn_page(1728, 98.0), drawn_page(2048, 196.0)], compression="g3-2d")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 pages" in out and "written by faxpipe" in out
    assert "page 1: 1728×90 pels, 204×98 dpi (standard)" in out
    assert "page 2: 2048×150 pels, 204×196 dpi (fine)" in out
    assert "T4Options 5 (2-D, fill bits)" in out and "FillOrder 2 (LSB first)" in out
    assert "1 strip of 90 rows" in out and "bytes" in out


def test_info_json(tmp_path, capsys):
    path = tmp_path / "fax.tif"
    tiff.write(path, [drawn_page(1733, 196.0)], compression="g4", fill_order=1)
    assert main(["info", "--json", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    (page,) = report["pages"]
    assert report["byte_order"] == "II"
    assert page["width"] == 1733 and page["compression"] == 4 and page["fill_order"] == 1
    assert page["resolution"] == "fine" and page["strips"] == 1 and page["page_number"] == [0, 1]


def test_info_on_a_bad_file_exits_3(tmp_path, capsys):
    path = tmp_path / "bad.tif"
    Image.new("RGB", (8, 8)).save(path)
    assert main(["info", str(path)]) == 3
    assert "not a fax TIFF" in capsys.readouterr().err


def test_tiled_image_is_not_a_fax_tiff(real_files):
    data = real_files["g4"]
    data = _patch(data, "H", _entry_offset(data, 274), 322)  # Orientation entry becomes TileWidth
    with pytest.raises(tiff.NotFaxTiff, match="tiled"):
        tiff.from_bytes(data)


def test_reduced_resolution_images_are_skipped(real_files):
    data = real_files["g4"]
    data = _patch(data, "I", _entry_offset(data, 254) + 8, 1)  # page 1 becomes a thumbnail
    (only,) = tiff.from_bytes(data)
    assert only.page == drawn_page(1733)


def test_write_to_a_path_is_durable(tmp_path, monkeypatch):
    """The data is synced before the rename that puts it in place, and the directory after it
    (POSIX), so a fax stored before its 200 answer survives a power cut, whole; no temporary
    file is left behind."""
    synced, renamed = [], []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def replace(src, dst):
        renamed.append((len(synced), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "fax.tif"
    page = drawn_page(height=40)
    tiff.write(target, [page], "g4")
    assert renamed == [(1, str(target))]                  # the data synced first, under its temp name
    assert synced[0].startswith(str(target) + ".tmp")
    assert synced[1:] == [str(tmp_path)]                  # then the directory holding the new name
    assert [p.name for p in tmp_path.iterdir()] == ["fax.tif"]
    assert tiff.read(target)[0].page == page
