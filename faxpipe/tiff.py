"""TIFF Class F (RFC 2306) reader and writer, by hand over the TIFF 6.0 structures.

The file structure (header, IFD chain, field types) is TIFF 6.0 Part 1 §2; the bilevel fields
are §3 (baseline) and §11 (CCITT bilevel encodings, T4Options / T6Options); RFC 2306 §3 fixes
which of them a fax file carries. Tags are data: ``_READ_TAGS`` says how each field is decoded,
``_WRITE_TAGS`` says what a written page carries. The pixels themselves go through
:mod:`faxpipe.codec`.

Reading takes what the world writes (libtiff, fax2tiff, Ghostscript, fax servers): both byte
orders, FillOrder 1 and 2, Compression 1 (uncompressed), 2 (CCITT RLE), 3 (T.4) and 4 (T.6),
any number of strips, WhiteIsZero and BlackIsZero. Anything else is not a fax TIFF and raises
:class:`CodecError`; so does every malformed file, before any memory is sized from it.
"""

from __future__ import annotations

import io
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO, Iterable, Iterator

from . import codec
from .cores import usable_cores
from .errors import CodecError
from .page import Page, check_geometry

__all__ = ["TiffPage", "NotFaxTiff", "read", "write", "from_bytes", "to_bytes", "COMPRESSIONS",
           "COMPRESSION_NAMES"]

MAX_FILE_SIZE = 512 << 20      # a fax file is kilobytes; refuse to slurp gigabytes
MAX_PAGES = 10_000
MAX_DECODED_BYTES = 1 << 30    # pixels decoded from one file, all pages together

T4_2D, T4_UNCOMPRESSED, T4_FILL = 1, 2, 4   # TIFF 6.0 §11 T4Options bits
T6_UNCOMPRESSED = 2                         # TIFF 6.0 §11 T6Options bit 1
SUBFILE_REDUCED, SUBFILE_PAGE = 1, 2        # TIFF 6.0 §8 NewSubfileType bits

# TIFF 6.0 §2 "Types": type number -> (struct code of one value, size in bytes).
_TYPES = {
    1: ("B", 1), 2: ("B", 1), 3: ("H", 2), 4: ("I", 4), 5: ("II", 8), 6: ("b", 1), 7: ("B", 1),
    8: ("h", 2), 9: ("i", 4), 10: ("ii", 8), 11: ("f", 4), 12: ("d", 8), 13: ("I", 4),
}
BYTE, ASCII, SHORT, LONG, RATIONAL = 1, 2, 3, 4, 5
_INTEGER_TYPES = frozenset({1, 3, 4, 6, 8, 9, 13})
_NUMBER_TYPES = frozenset(_TYPES) - {ASCII, 7}

# Compression values (TIFF 6.0 §3, §11, §22 and the registry libtiff keeps) for messages.
COMPRESSION_NAMES = {
    1: "uncompressed", 2: "CCITT RLE (MH, byte-aligned rows)", 3: "G3 (T.4)", 4: "G4 (T.6)",
    5: "LZW", 6: "old-style JPEG", 7: "JPEG", 8: "Deflate", 32766: "NeXT", 32771: "CCITT RLEW",
    32773: "PackBits", 32946: "Deflate", 34661: "JBIG", 34712: "JPEG 2000", 34925: "LZMA",
    50000: "Zstandard", 50001: "WebP",
}
PHOTOMETRIC_NAMES = {0: "WhiteIsZero", 1: "BlackIsZero", 2: "RGB", 3: "palette", 4: "mask",
                     5: "CMYK", 6: "YCbCr", 8: "CIELab"}


class NotFaxTiff(CodecError):
    """A well-formed TIFF whose images are not bilevel fax pages (colour, grey, JPEG, tiles,
    BigTIFF...): the normalizer should render it rather than give up."""


def _first(values):
    return values[0]


def _ascii(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0][:1000].decode("latin-1")


# Reader: tag -> (field name, accepted types, how to turn the values into the field).
_READ_TAGS = {
    254: ("new_subfile_type", _INTEGER_TYPES, _first),
    256: ("width", _INTEGER_TYPES, _first),
    257: ("height", _INTEGER_TYPES, _first),
    258: ("bits_per_sample", _INTEGER_TYPES, tuple),
    259: ("compression", _INTEGER_TYPES, _first),
    262: ("photometric", _INTEGER_TYPES, _first),
    266: ("fill_order", _INTEGER_TYPES, _first),
    273: ("strip_offsets", _INTEGER_TYPES, tuple),
    277: ("samples_per_pixel", _INTEGER_TYPES, _first),
    278: ("rows_per_strip", _INTEGER_TYPES, _first),
    279: ("strip_byte_counts", _INTEGER_TYPES, tuple),
    282: ("xres", _NUMBER_TYPES, _first),
    283: ("yres", _NUMBER_TYPES, _first),
    292: ("t4_options", _INTEGER_TYPES, _first),
    293: ("t6_options", _INTEGER_TYPES, _first),
    296: ("resolution_unit", _INTEGER_TYPES, _first),
    297: ("page_number", _INTEGER_TYPES, tuple),
    305: ("software", frozenset({ASCII}), _ascii),
    322: ("tile_width", _INTEGER_TYPES, _first),
}
# Values of absent fields (TIFF 6.0 defaults; photometric None = not said, taken as WhiteIsZero).
_READ_DEFAULTS = {
    "new_subfile_type": 0, "bits_per_sample": (1,), "compression": 1, "photometric": None,
    "fill_order": 1, "samples_per_pixel": 1, "rows_per_strip": 0xFFFFFFFF, "t4_options": 0,
    "t6_options": 0, "resolution_unit": 2, "xres": None, "yres": None, "page_number": None,
    "software": None, "tile_width": None, "strip_offsets": None, "strip_byte_counts": None,
}
# ResolutionUnit (TIFF 6.0 §3): 1 none, 2 inch, 3 centimetre -> factor to dots per inch.
_UNIT_TO_DPI = {1: 1.0, 2: 1.0, 3: 2.54}

# How each readable compression decodes: Compression -> (codec scheme or None, byte-aligned rows).
_DECODERS = {1: (None, False), 2: ("mh", True), 3: ("mh", False), 4: ("mmr", False)}


@dataclass(frozen=True)
class _Writing:
    """One way of writing pages: TIFF Compression, codec scheme, options tag and value."""

    compression: int
    scheme: str
    options_tag: int
    options: int
    encode_args: tuple


# Writer schemes (RFC 2306 §3: T.4 with an EOL per row and fill bits, as fax software writes;
# no RTC inside TIFF, as libtiff writes; T.6 with EOFB, as libtiff writes).
COMPRESSIONS = {
    "g3-1d": _Writing(3, "mh", 292, T4_FILL, (("eol", True), ("fill", True), ("rtc", False))),
    "g3-2d": _Writing(3, "mr", 292, T4_2D | T4_FILL, (("fill", True), ("rtc", False))),
    "g4": _Writing(4, "mmr", 293, 0, (("rtc", True),)),
}
_FILL_ORDERS = {1: "msb", 2: "lsb"}
_BYTE_ORDERS = {"II": "<", "MM": ">"}

_REVERSE_BITS = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))
_INVERT = bytes(255 - i for i in range(256))


@dataclass(frozen=True, eq=False)
class TiffPage:
    """One page of a TIFF file: the decoded :class:`Page` and the fields that describe it."""

    page: Page
    compression: int
    fill_order: int
    photometric: int
    t4_options: int
    t6_options: int
    byte_order: str                # "II" (little-endian) or "MM" (big-endian)
    rows_per_strip: int
    strips: tuple                  # the encoded bytes of every strip, as stored
    page_number: tuple | None      # (n, total) as the file says (0-based n), or None
    software: str | None
    bad_rows: int                  # rows the decoder had to replace or invent

    @property
    def strip_count(self) -> int:
        return len(self.strips)

    @property
    def encoded_size(self) -> int:
        return sum(map(len, self.strips))

    @property
    def compression_name(self) -> str:
        return COMPRESSION_NAMES.get(self.compression, f"compression {self.compression}")

    @property
    def scheme(self) -> str | None:
        """The codec scheme of the strips ("mh", "mr", "mmr") or None when uncompressed."""
        scheme = _DECODERS[self.compression][0]
        return "mr" if scheme == "mh" and self.t4_options & T4_2D else scheme


# ---------------------------------------------------------------------------------------------
# Reading


def read(source: str | os.PathLike | BinaryIO) -> list[TiffPage]:
    """Read every page of a TIFF-F file from a path or a binary file object."""
    if hasattr(source, "read"):
        data = source.read(MAX_FILE_SIZE + 1)
    else:
        with open(source, "rb") as f:
            data = f.read(MAX_FILE_SIZE + 1)
    return from_bytes(data)


def from_bytes(data: bytes) -> list[TiffPage]:
    """Read every page of a TIFF-F file held in memory (TIFF 6.0 §2: header, then IFD chain)."""
    data = bytes(data)
    if len(data) > MAX_FILE_SIZE:
        raise CodecError(f"TIFF file is larger than {MAX_FILE_SIZE >> 20} MiB")
    if len(data) < 8:
        raise CodecError(f"not a TIFF file: {len(data)} bytes is too short for a TIFF header")
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None:
        raise CodecError("not a TIFF file: it does not start with II or MM")
    magic, offset = struct.unpack_from(order + "HI", data, 2)
    if magic == 43:
        raise NotFaxTiff("not a fax TIFF: BigTIFF; such a file must be normalized into bilevel "
                         "fax pages first")
    if magic != 42:
        raise CodecError(f"not a TIFF file: version {magic} instead of 42")
    pages, seen, budget = [], set(), MAX_DECODED_BYTES
    while offset:
        if offset in seen:
            raise CodecError(f"the IFD chain loops back to offset {offset}")
        if len(seen) >= MAX_PAGES:
            raise CodecError(f"more than {MAX_PAGES} images in one TIFF file")
        seen.add(offset)
        fields, offset = _read_ifd(data, order, offset)
        if fields["new_subfile_type"] & SUBFILE_REDUCED:
            continue  # a thumbnail, not a page (TIFF 6.0 §8)
        page = _read_page(data, order, fields, len(pages) + 1, budget)
        budget -= page.page.stride * page.page.height
        pages.append(page)
    if not pages:
        raise CodecError("the TIFF file holds no page")
    return pages


def _read_ifd(data: bytes, order: str, offset: int) -> tuple[dict, int]:
    """Decode one IFD (TIFF 6.0 §2 "Image File Directory"): the fields we know, next offset."""
    if offset + 2 > len(data):
        raise CodecError(f"IFD offset {offset} is past the end of the file ({len(data)} bytes)")
    (count,) = struct.unpack_from(order + "H", data, offset)
    end = offset + 2 + 12 * count
    if end + 4 > len(data):
        raise CodecError(f"the IFD at {offset} declares {count} entries, past the end of the file")
    fields = dict(_READ_DEFAULTS)
    for pos in range(offset + 2, end, 12):
        tag, ftype, n = struct.unpack_from(order + "HHI", data, pos)
        known = _READ_TAGS.get(tag)
        if known is None or n == 0:  # a field we do not need, or an empty one: absent
            continue
        name, types, convert = known
        if ftype not in types:
            raise CodecError(f"tag {tag} ({name}) has field type {ftype}, which it cannot have")
        fields[name] = convert(_field_values(data, order, pos, tag, ftype, n))
    (next_offset,) = struct.unpack_from(order + "I", data, end)
    return fields, next_offset


def _field_values(data: bytes, order: str, pos: int, tag: int, ftype: int, n: int):
    """The values of one IFD entry, bounds-checked before anything is sized from ``n``."""
    code, size = _TYPES[ftype]
    if n > len(data) // size:
        raise CodecError(f"tag {tag} declares {n} values, more than the file could hold")
    total = n * size
    where = pos + 8
    if total > 4:
        (where,) = struct.unpack_from(order + "I", data, pos + 8)
        if where + total > len(data):
            raise CodecError(f"the values of tag {tag} lie past the end of the file")
    if ftype == ASCII:
        return data[where:where + total]
    values = struct.unpack_from(f"{order}{n * len(code)}{code[0]}", data, where)
    if len(code) == 2:  # RATIONAL / SRATIONAL: numerator, denominator pairs
        return tuple(a / b if b else 0.0 for a, b in zip(values[::2], values[1::2]))
    return values


def _read_page(data: bytes, order: str, f: dict, number: int, budget: int) -> TiffPage:
    """Check that an IFD describes a bilevel fax image, then decode its strips."""
    _check_fax_image(f, number)
    width, height = f["width"], f["height"]
    check_geometry(width, height)
    stride = (width + 7) // 8
    if stride * height > budget:
        raise CodecError(f"page {number} ({width}×{height}) exceeds the {MAX_DECODED_BYTES >> 20} "
                         "MiB of pixels one TIFF file may decode to")
    strips = _strips(data, f, number, height)
    rows_per_strip = f["rows_per_strip"]
    scheme, byte_align = _DECODERS[f["compression"]]
    if scheme == "mh" and f["t4_options"] & T4_2D:
        scheme = "mr"
    xres, yres = _resolution(f)
    bit_order = _FILL_ORDERS.get(f["fill_order"], "msb")
    rows, bad = [], 0
    for i, strip in enumerate(strips):
        nrows = min(rows_per_strip, height - i * rows_per_strip)
        if scheme is None:
            rows.append(_uncompressed_rows(strip, stride, nrows, bit_order, number))
            continue
        if nrows > 8 * len(strip) // (8 if byte_align else 1) + 8:
            raise CodecError(f"strip {i + 1} of page {number} holds {len(strip)} bytes, too few for "
                             f"{nrows} rows (every coded row takes a bit at least): truncated")
        page, stats = codec.decode(strip, scheme, width, height=nrows, bit_order=bit_order,
                                   byte_align=byte_align, xres=xres, yres=yres)
        rows.append(page.data)
        bad += stats.bad_rows
    pixels = b"".join(rows)
    photometric = 0 if f["photometric"] is None else f["photometric"]
    if photometric == 1:
        pixels = pixels.translate(_INVERT)  # BlackIsZero: 0 is black, Page wants 1 for black
    pn = f["page_number"]
    return TiffPage(
        page=Page(width, height, pixels, xres, yres), compression=f["compression"],
        fill_order=f["fill_order"], photometric=photometric, t4_options=f["t4_options"],
        t6_options=f["t6_options"], byte_order="II" if order == "<" else "MM",
        rows_per_strip=min(rows_per_strip, height), strips=tuple(strips),
        page_number=tuple(pn[:2]) if pn and len(pn) >= 2 else None, software=f["software"],
        bad_rows=bad,
    )


def _check_fax_image(f: dict, number: int) -> None:
    """RFC 2306 §3: one 1-bit sample, a CCITT (or no) compression, no tiles.

    T4Options / T6Options bit 1 (uncompressed mode, TIFF 6.0 §11) is accepted: writers such as
    fax2tiff set it without using the mode; rows that do use it decode as bad rows.
    """
    if "width" not in f or "height" not in f:
        raise CodecError(f"page {number} has no ImageWidth or ImageLength")
    reasons = []
    samples, bits, photometric = f["samples_per_pixel"], f["bits_per_sample"], f["photometric"]
    if samples != 1 or bits[0] != 1:
        kind = "colour" if samples >= 3 or photometric in (2, 3, 5, 6, 8) else "greyscale"
        reasons.append(f"a {kind} image ({samples} sample{'s' * (samples != 1)} of {bits[0]} bits)")
    if f["compression"] not in _DECODERS:
        reasons.append(f"compressed with {COMPRESSION_NAMES.get(f['compression'], f['compression'])}")
    if photometric not in (None, 0, 1):
        reasons.append(f"in {PHOTOMETRIC_NAMES.get(photometric, f'photometric {photometric}')}")
    if f["tile_width"] is not None:
        reasons.append("tiled")
    if f["fill_order"] not in _FILL_ORDERS:
        reasons.append(f"in FillOrder {f['fill_order']}")
    if reasons:
        raise NotFaxTiff(f"not a fax TIFF: page {number} is {', '.join(reasons)}; such a file must "
                         "be normalized into bilevel fax pages first")


def _strips(data: bytes, f: dict, number: int, height: int) -> list[bytes]:
    """The bytes of every strip a page needs (TIFF 6.0 §3 StripOffsets, RowsPerStrip)."""
    rps = f["rows_per_strip"]
    if rps <= 0:
        raise CodecError(f"page {number} has RowsPerStrip {rps}")
    needed = -(-height // rps)
    offsets, counts = f["strip_offsets"], f["strip_byte_counts"]
    if offsets is None:
        raise CodecError(f"page {number} has no StripOffsets")
    if counts is None and len(offsets) == 1:
        counts = (max(0, len(data) - offsets[0]),)  # what libtiff assumes for one strip
    if counts is None or len(counts) != len(offsets):
        raise CodecError(f"page {number} has {len(offsets)} StripOffsets but "
                         f"{0 if counts is None else len(counts)} StripByteCounts")
    if len(offsets) < needed:
        raise CodecError(f"page {number} needs {needed} strips of {rps} rows but has {len(offsets)}")
    strips = []
    for offset, count in zip(offsets[:needed], counts[:needed]):
        if offset < 0 or count < 0 or offset + count > len(data):
            raise CodecError(f"a strip of page {number} ({count} bytes at {offset}) lies past the "
                             f"end of the file ({len(data)} bytes): the file is truncated")
        strips.append(data[offset:offset + count])
    return strips


def _uncompressed_rows(strip: bytes, stride: int, nrows: int, bit_order: str, number: int) -> bytes:
    """Compression 1: rows of ``stride`` bytes (TIFF 6.0 §3), bits reversed for FillOrder 2."""
    size = stride * nrows
    if len(strip) < size:
        raise CodecError(f"an uncompressed strip of page {number} holds {len(strip)} bytes, "
                         f"{nrows} rows need {size}")
    rows = strip[:size]
    return rows.translate(_REVERSE_BITS) if bit_order == "lsb" else rows


def _resolution(f: dict) -> tuple[float, float]:
    """XResolution / YResolution in dots per inch (absent or absurd: fax fine, 204 × 196)."""
    factor = _UNIT_TO_DPI.get(f["resolution_unit"], 1.0)
    xres, yres = (round(f[k] * factor, 3) if f[k] else None for k in ("xres", "yres"))
    return (xres if xres and 1 <= xres <= 100_000 else 204.0,
            yres if yres and 1 <= yres <= 100_000 else 196.0)


# ---------------------------------------------------------------------------------------------
# Writing


def _integer(value: int):
    return (LONG, (value,))


# Writer: (tag, values for one page). ``w`` is a _PageOut; a None result leaves the tag out.
# RFC 2306 §3 lists the fields; the order here is ascending, as TIFF 6.0 §2 requires.
_WRITE_TAGS = (
    (254, lambda w: _integer(SUBFILE_PAGE)),                          # NewSubfileType
    (256, lambda w: _integer(w.page.width)),                          # ImageWidth
    (257, lambda w: _integer(w.page.height)),                         # ImageLength
    (258, lambda w: (SHORT, (1,))),                                   # BitsPerSample
    (259, lambda w: (SHORT, (w.how.compression,))),                   # Compression
    (262, lambda w: (SHORT, (0,))),                                   # Photometric WhiteIsZero
    (266, lambda w: (SHORT, (w.fill_order,))),                        # FillOrder
    (273, lambda w: _integer(w.strip_offset)),                        # StripOffsets
    (274, lambda w: (SHORT, (1,))),                                   # Orientation
    (277, lambda w: (SHORT, (1,))),                                   # SamplesPerPixel
    (278, lambda w: _integer(w.page.height)),                         # RowsPerStrip
    (279, lambda w: _integer(len(w.strip))),                          # StripByteCounts
    (282, lambda w: (RATIONAL, _fraction(w.page.xres))),              # XResolution
    (283, lambda w: (RATIONAL, _fraction(w.page.yres))),              # YResolution
    (292, lambda w: _options(w, 292)),                                # T4Options
    (293, lambda w: _options(w, 293)),                                # T6Options
    (296, lambda w: (SHORT, (2,))),                                   # ResolutionUnit inch
    (297, lambda w: (SHORT, (w.number, w.total))),                    # PageNumber
    (305, lambda w: (ASCII, b"faxpipe\0")),                           # Software
)


@dataclass
class _PageOut:
    page: Page
    how: _Writing
    fill_order: int
    number: int
    total: int
    strip: bytes
    strip_offset: int = 0


def _options(w: _PageOut, tag: int):
    return (LONG, (w.how.options,)) if w.how.options_tag == tag else None


def _fraction(value: float) -> tuple[int, int]:
    if not value or value < 0:
        raise CodecError(f"resolution {value} dpi cannot be written")
    frac = Fraction(value).limit_denominator(1000)
    return frac.numerator, frac.denominator


def write(target: str | os.PathLike | BinaryIO, pages: Iterable[Page], compression: str = "g4",
          fill_order: int = 2, byte_order: str = "II") -> int:
    """Write pages as one TIFF-F file to a path or a binary file object.

    A path is replaced atomically and durably: the data is synced before the rename and the
    directory after it, so once this returns the file survives a crash or a power cut, whole.
    Returns the number of bytes written.
    """
    data = to_bytes(pages, compression, fill_order, byte_order)
    if hasattr(target, "write"):
        target.write(data)
        return len(data)
    tmp = f"{os.fspath(target)}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _sync_directory(os.path.dirname(os.path.abspath(target)))
    return len(data)


def _sync_directory(path: str) -> None:
    """Make a rename in ``path`` durable (POSIX: fsync of the directory)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return   # a platform whose directories cannot be opened
    try:
        os.fsync(fd)
    except OSError:
        pass     # file systems that refuse to sync a directory
    finally:
        os.close(fd)


def to_bytes(pages: Iterable[Page], compression: str = "g4", fill_order: int = 2,
             byte_order: str = "II") -> bytes:
    """Encode pages into a TIFF-F file: one strip per page, the IFD after its strip."""
    how = COMPRESSIONS.get(compression)
    if how is None:
        raise CodecError(f"unknown TIFF compression {compression!r}: use {', '.join(COMPRESSIONS)}")
    if fill_order not in _FILL_ORDERS:
        raise CodecError(f"FillOrder must be 1 or 2, not {fill_order!r}")
    order = _BYTE_ORDERS.get(byte_order)
    if order is None:
        raise CodecError(f"byte order must be 'II' or 'MM', not {byte_order!r}")
    pages = list(pages)
    if not pages:
        raise CodecError("a TIFF file needs at least one page")
    for number, page in enumerate(pages):
        if page.height == 0:
            raise CodecError(f"page {number + 1} has no rows; TIFF cannot hold an empty image")
    out = io.BytesIO()
    out.write((b"II" if order == "<" else b"MM") + struct.pack(order + "HI", 42, 0))
    link = 4  # where the offset of the next IFD goes
    for number, (page, strip) in enumerate(zip(pages, _coded(pages, how, _FILL_ORDERS[fill_order]))):
        w = _PageOut(page, how, fill_order, number, len(pages), strip, strip_offset=out.tell())
        out.write(strip + b"\0" * (len(strip) & 1))
        ifd_offset = out.tell()
        out.seek(link)
        out.write(struct.pack(order + "I", ifd_offset))
        out.seek(ifd_offset)
        link = _write_ifd(out, order, [(tag, v) for tag, fn in _WRITE_TAGS if (v := fn(w))])
    return out.getvalue()


def _coded(pages: list[Page], how, bit_order: str) -> Iterator[bytes]:
    """Each page's coded strip, in order. The encoder releases the GIL, so the pages of a
    multi-page file are coded on all cores (at most ``_ENCODERS`` threads), each strip written
    as soon as it and those before it are done."""
    def encode(page: Page) -> bytes:
        return codec.encode(page, how.scheme, bit_order=bit_order, **dict(how.encode_args))

    workers = min(_ENCODERS, len(pages), usable_cores())
    if workers < 2:
        yield from map(encode, pages)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="faxpipe-encode") as pool:
        yield from pool.map(encode, pages)


_ENCODERS = 4


def _write_ifd(out: io.BytesIO, order: str, entries: list) -> int:
    """Write one IFD at the current (even) position, its long values after it; return where
    the next-IFD offset lies."""
    start = out.tell()
    extra = start + 2 + 12 * len(entries) + 4
    table, values = [struct.pack(order + "H", len(entries))], []
    for tag, (ftype, vals) in entries:
        code, size = _TYPES[ftype]
        raw = vals if ftype == ASCII else struct.pack(f"{order}{len(vals)}{code[0]}", *vals)
        count = len(raw) // size
        if len(raw) <= 4:
            field = raw.ljust(4, b"\0")
        else:
            field = struct.pack(order + "I", extra + sum(map(len, values)))
            values.append(raw + b"\0" * (len(raw) & 1))
        table.append(struct.pack(order + "HHI", tag, ftype, count) + field)
    out.write(b"".join(table))
    link = out.tell()
    out.write(b"\0\0\0\0")
    out.write(b"".join(values))
    return link
