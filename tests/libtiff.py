"""libtiff (Debian's libtiff.so.6) driven through ctypes: the G3/G4 oracle and benchmark anchor.

Everything goes through real TIFF files that live in anonymous memory (``memfd_create``) and are
opened with ``TIFFFdOpen``, so libtiff does its own I/O in C and no Python callback runs while it
codes. Every TIFF has one strip, 1 bit per sample, PhotometricInterpretation 0 (WhiteIsZero, so
faxpipe's "1 = black" bytes go in unchanged), XResolution 204 and the page's YResolution (libtiff
picks MR's K from it: 2 at ≤150 dpi, 4 above).

Used by tests/test_codec_oracle.py and bench/codec.py:

* ``encode(page, compression, ...)`` → the raw strip bytes libtiff wrote (``TIFFReadRawStrip``);
* ``decode(data, compression, width, height, ...)`` → the packed rows libtiff decoded
  (raw bytes written with ``TIFFWriteRawStrip``, read back with ``TIFFReadEncodedStrip``);
* ``EncodeJob`` / ``DecodeJob`` for timing: only ``TIFFWriteEncodedStrip`` (encode) or
  ``TIFFReadEncodedStrip`` (decode) is inside the clock; see their docstrings;
* ``read_strips(path)`` → the tags and raw strips of every page of a TIFF file (fax2tiff, gs).

libtiff's error and warning messages are captured per call in ``Result.messages``; an error makes
the call raise ``LibTiffError``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time
from dataclasses import dataclass, field

LIBRARY = "libtiff.so.6"

# tiff.h
TAG_IMAGEWIDTH = 256
TAG_IMAGELENGTH = 257
TAG_BITSPERSAMPLE = 258
TAG_COMPRESSION = 259
TAG_PHOTOMETRIC = 262
TAG_FILLORDER = 266
TAG_SAMPLESPERPIXEL = 277
TAG_ROWSPERSTRIP = 278
TAG_XRESOLUTION = 282
TAG_YRESOLUTION = 283
TAG_PLANARCONFIG = 284
TAG_T4OPTIONS = 292
TAG_T6OPTIONS = 293
TAG_RESOLUTIONUNIT = 296
TAG_FAXMODE = 65536  # libtiff pseudo-tag: FAXMODE_CLASSIC (0) writes RTC, FAXMODE_NORTC (1) not
FAXMODE_CLASSIC = 0
FAXMODE_NORTC = 1

COMPRESSION_RLE = 2  # MH, no EOL, rows byte-aligned, no RTC
COMPRESSION_T4 = 3  # MH / MR (T4Options bit 0), fill (bit 2)
COMPRESSION_T6 = 4  # MMR with EOFB
T4_2D = 0x1
T4_FILL = 0x4

_TAG_TYPES = {  # how TIFFSetField / TIFFGetField pass each tag we use
    TAG_IMAGEWIDTH: ctypes.c_uint32, TAG_IMAGELENGTH: ctypes.c_uint32,
    TAG_BITSPERSAMPLE: ctypes.c_uint16, TAG_COMPRESSION: ctypes.c_uint16,
    TAG_PHOTOMETRIC: ctypes.c_uint16, TAG_FILLORDER: ctypes.c_uint16,
    TAG_SAMPLESPERPIXEL: ctypes.c_uint16, TAG_ROWSPERSTRIP: ctypes.c_uint32,
    TAG_XRESOLUTION: ctypes.c_double, TAG_YRESOLUTION: ctypes.c_double,  # float, promoted
    TAG_PLANARCONFIG: ctypes.c_uint16, TAG_T4OPTIONS: ctypes.c_uint32,
    TAG_T6OPTIONS: ctypes.c_uint32, TAG_RESOLUTIONUNIT: ctypes.c_uint16,
    TAG_FAXMODE: ctypes.c_int,
}
_GET_TYPES = {**_TAG_TYPES, TAG_XRESOLUTION: ctypes.c_float, TAG_YRESOLUTION: ctypes.c_float}


class LibTiffError(Exception):
    """libtiff reported an error (the messages are in ``messages``)."""

    def __init__(self, what: str, messages: list[str]):
        super().__init__(f"{what}: {'; '.join(messages) or 'no message'}")
        self.messages = messages


class LibTiffMissing(ImportError):
    pass


_lib = None
_messages: list[str] = []
_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)
_handlers = []  # keep the callbacks alive


def _handler(kind: str):
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]

    def handle(module, fmt, args):
        text = ctypes.create_string_buffer(1024)
        # x86-64 and i386 pass a va_list as a pointer, so vsnprintf can format it here.
        libc.vsnprintf(text, len(text), fmt, args)
        _messages.append(f"{kind}: {(module or b'').decode(errors='replace')}: "
                         f"{text.value.decode(errors='replace')}")

    callback = _HANDLER(handle)
    _handlers.append(callback)
    return callback


def library():
    """Load libtiff once and declare the functions used; raises LibTiffMissing."""
    global _lib
    if _lib is not None:
        return _lib
    try:
        lib = ctypes.CDLL(LIBRARY)
    except OSError as exc:
        raise LibTiffMissing(f"cannot load {LIBRARY}: {exc}") from exc
    p, i, u32, ssize = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32, ctypes.c_ssize_t
    for name, res, args in [
        ("TIFFFdOpen", p, [i, ctypes.c_char_p, ctypes.c_char_p]),
        ("TIFFOpen", p, [ctypes.c_char_p, ctypes.c_char_p]),
        ("TIFFClose", None, [p]),
        ("TIFFWriteDirectory", i, [p]),
        ("TIFFReadDirectory", i, [p]),
        ("TIFFNumberOfStrips", u32, [p]),
        ("TIFFWriteBufferSetup", i, [p, p, ssize]),
        ("TIFFWriteEncodedStrip", ssize, [p, u32, p, ssize]),
        ("TIFFWriteRawStrip", ssize, [p, u32, p, ssize]),
        ("TIFFReadEncodedStrip", ssize, [p, u32, p, ssize]),
        ("TIFFReadRawStrip", ssize, [p, u32, p, ssize]),
        ("TIFFRawStripSize", ssize, [p, u32]),
        ("TIFFStripSize", ssize, [p]),
        ("TIFFGetVersion", ctypes.c_char_p, []),
        ("TIFFSetErrorHandler", p, [_HANDLER]),
        ("TIFFSetWarningHandler", p, [_HANDLER]),
    ]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    lib.TIFFSetErrorHandler(_handler("error"))
    lib.TIFFSetWarningHandler(_handler("warning"))
    _lib = lib
    return lib


def version() -> str:
    return library().TIFFGetVersion().decode().splitlines()[0]


def available() -> bool:
    try:
        library()
    except LibTiffMissing:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# small helpers around a TIFF handle


def _take_messages() -> list[str]:
    out = list(_messages)
    _messages.clear()
    return out


def _errors(messages: list[str]) -> list[str]:
    return [m for m in messages if m.startswith("error")]


def _set(tif, tag: int, value) -> None:
    ctype = _TAG_TYPES[tag]
    fn = library().TIFFSetField
    fn.restype = ctypes.c_int
    if not fn(ctypes.c_void_p(tif), ctypes.c_uint32(tag), ctype(value)):
        raise LibTiffError(f"TIFFSetField({tag}, {value})", _take_messages())


def _get(tif, tag: int):
    value = _GET_TYPES[tag]()
    fn = library().TIFFGetField
    fn.restype = ctypes.c_int
    if not fn(ctypes.c_void_p(tif), ctypes.c_uint32(tag), ctypes.byref(value)):
        return None
    return value.value


def _open_fd(fd: int, mode: str):
    """A TIFF handle on a dup of ``fd`` (TIFFClose closes the descriptor it was given)."""
    os.lseek(fd, 0, os.SEEK_SET)  # a dup shares the offset; libtiff reads the header from it
    tif = library().TIFFFdOpen(os.dup(fd), b"memfd", mode.encode())
    if not tif:
        raise LibTiffError(f"TIFFFdOpen({mode})", _take_messages())
    return tif


@dataclass(frozen=True)
class Layout:
    """What the TIFF around a strip says: the tags that choose libtiff's coder."""

    width: int
    height: int
    compression: int
    t4options: int = 0
    fill_order: int = 1
    xres: float = 204.0
    yres: float = 196.0
    rtc: bool = True

    def write_tags(self, tif) -> None:
        for tag, value in [
            (TAG_IMAGEWIDTH, self.width), (TAG_IMAGELENGTH, self.height),
            (TAG_BITSPERSAMPLE, 1), (TAG_SAMPLESPERPIXEL, 1),
            (TAG_COMPRESSION, self.compression), (TAG_PHOTOMETRIC, 0),
            (TAG_FILLORDER, self.fill_order), (TAG_ROWSPERSTRIP, max(self.height, 1)),
            (TAG_PLANARCONFIG, 1), (TAG_RESOLUTIONUNIT, 2),
            (TAG_XRESOLUTION, self.xres), (TAG_YRESOLUTION, self.yres),
        ]:
            _set(tif, tag, value)
        if self.compression == COMPRESSION_T4:
            _set(tif, TAG_T4OPTIONS, self.t4options)
            # libtiff's default for Compression 3 is "Class F style", without RTC.
            _set(tif, TAG_FAXMODE, FAXMODE_CLASSIC if self.rtc else FAXMODE_NORTC)
        elif self.compression == COMPRESSION_T6:
            _set(tif, TAG_T6OPTIONS, 0)


def layout_for(scheme: str, width: int, height: int, *, fill: bool = False, bit_order: str = "msb",
               yres: float = 196.0, xres: float = 204.0, rtc: bool = True) -> Layout:
    """The libtiff tags equivalent to faxpipe's encode options.

    scheme: "mh", "mr", "mmr" or "rle" (TIFF Compression 2 = faxpipe mh with eol=False,
    rtc=False, byte_align=True). rtc: G3 only (libtiff always ends MMR with EOFB and never ends
    Compression 2 with RTC); note that libtiff's own default for Compression 3 is no RTC.
    """
    fill_order = {"msb": 1, "lsb": 2}[bit_order]
    if scheme == "rle":
        return Layout(width, height, COMPRESSION_RLE, 0, fill_order, xres, yres)
    if scheme == "mmr":
        return Layout(width, height, COMPRESSION_T6, 0, fill_order, xres, yres)
    options = (T4_2D if scheme == "mr" else 0) | (T4_FILL if fill else 0)
    if scheme not in ("mh", "mr"):
        raise ValueError(f"unknown scheme {scheme!r}")
    return Layout(width, height, COMPRESSION_T4, options, fill_order, xres, yres, rtc)


@dataclass
class Result:
    data: bytes
    seconds: float
    messages: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# encode


class EncodeJob:
    """Encode one page with libtiff, repeatedly, timing only the encoder.

    ``run()`` makes a new TIFF in a memfd with the layout's tags and hands libtiff a write buffer
    large enough for any page (allocated and touched once per job, so no I/O and no page faults
    happen while it codes), then clocks ``TIFFWriteEncodedStrip`` alone: libtiff's encoder setup
    for the strip (Fax3PreEncode), every row, and Fax3PostEncode (MMR's EOFB). The RTC of G3,
    which libtiff writes when the directory is written (Fax3Close: six EOLs, microseconds), the
    file creation, the flush of the buffer to the memfd and reading the strip back are not timed.
    """

    def __init__(self, page, layout: Layout):
        self.lib = library()
        self.layout = layout
        self.size = len(page.data)
        self.rows = ctypes.create_string_buffer(bytes(page.data), max(self.size, 1))
        # Worst case for a 1-D code is ~9 bits/pel (alternating 1-pel runs + makeup codes).
        cap = max(page.width, 8) * max(page.height, 1) * 2 // 8 + 64 * (page.height + 8) + 65536
        self.out = ctypes.create_string_buffer(b"\x01" * 4096, cap)  # touched: create_string_buffer zeroes it
        self.cap = cap

    def run(self, read_back: bool = True) -> Result:
        """Encode once; ``read_back=False`` skips reading the strip back (``data`` is empty)."""
        lib = self.lib
        fd = os.memfd_create("faxpipe-libtiff-enc")
        try:
            tif = _open_fd(fd, "w")
            try:
                self.layout.write_tags(tif)
                if not lib.TIFFWriteBufferSetup(tif, self.out, self.cap):
                    raise LibTiffError("TIFFWriteBufferSetup", _take_messages())
                _take_messages()
                start = time.perf_counter()
                n = lib.TIFFWriteEncodedStrip(tif, 0, self.rows, self.size)
                seconds = time.perf_counter() - start
                if n < 0:
                    raise LibTiffError("TIFFWriteEncodedStrip", _take_messages())
                if not lib.TIFFWriteDirectory(tif):
                    raise LibTiffError("TIFFWriteDirectory", _take_messages())
            finally:
                lib.TIFFClose(tif)
            messages = _take_messages()
            if _errors(messages):
                raise LibTiffError("encode", messages)
            data = _raw_strip(fd, 0) if read_back else b""
        finally:
            os.close(fd)
        return Result(data, seconds, messages)


def _raw_strip(fd: int, strip: int) -> bytes:
    lib = library()
    tif = _open_fd(fd, "r")
    try:
        return _read_raw(tif, strip)
    finally:
        lib.TIFFClose(tif)


def _read_raw(tif, strip: int) -> bytes:
    lib = library()
    size = lib.TIFFRawStripSize(tif, strip)
    if size < 0:
        raise LibTiffError("TIFFRawStripSize", _take_messages())
    buf = ctypes.create_string_buffer(max(size, 1))
    n = lib.TIFFReadRawStrip(tif, strip, buf, size)
    if n < 0:
        raise LibTiffError("TIFFReadRawStrip", _take_messages())
    return buf.raw[:n]


def encode(page, scheme: str = "mh", *, fill: bool = False, bit_order: str = "msb",
           yres: float | None = None, rtc: bool = True) -> bytes:
    """libtiff's raw strip for ``page`` (a faxpipe.Page) coded as ``scheme`` (see layout_for)."""
    layout = layout_for(scheme, page.width, page.height, fill=fill, bit_order=bit_order,
                        yres=page.yres if yres is None else yres, xres=page.xres, rtc=rtc)
    return EncodeJob(page, layout).run().data


# ---------------------------------------------------------------------------------------------
# decode


class DecodeJob:
    """Decode one raw strip with libtiff, repeatedly, timing only the decoder.

    The constructor writes the bytes with ``TIFFWriteRawStrip`` into a TIFF in a memfd and opens
    it for reading (libtiff memory-maps it, and its fax decoder reverses FillOrder 2 itself, so the
    strip is not copied). ``run()`` clocks ``TIFFReadEncodedStrip`` into a preallocated buffer:
    Fax3PreDecode and every row.
    """

    def __init__(self, data: bytes, layout: Layout):
        self.lib = library()
        self.layout = layout
        self.tif = None
        self.fd = os.memfd_create("faxpipe-libtiff-dec")
        _write_raw_tiff(self.fd, data, layout)
        self.tif = _open_fd(self.fd, "r")
        self.size = ((layout.width + 7) // 8) * layout.height
        self.out = ctypes.create_string_buffer(max(self.size, 1))
        _take_messages()

    def run(self) -> Result:
        ctypes.memset(self.out, 0, self.size)
        start = time.perf_counter()
        n = self.lib.TIFFReadEncodedStrip(self.tif, 0, self.out, self.size)
        seconds = time.perf_counter() - start
        messages = _take_messages()
        if n < 0 or _errors(messages):
            raise LibTiffError("TIFFReadEncodedStrip", messages)
        return Result(self.out.raw[:self.size], seconds, messages)

    def close(self) -> None:
        if self.tif:
            self.lib.TIFFClose(self.tif)
            self.tif = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _write_raw_tiff(fd: int, data: bytes, layout: Layout) -> None:
    """Write a one-strip TIFF holding ``data`` as it is (TIFFWriteRawStrip) to ``fd``."""
    lib = library()
    tif = _open_fd(fd, "w")
    try:
        layout.write_tags(tif)
        raw = ctypes.create_string_buffer(bytes(data), max(len(data), 1))
        if lib.TIFFWriteRawStrip(tif, 0, raw, len(data)) < 0:
            raise LibTiffError("TIFFWriteRawStrip", _take_messages())
        if not lib.TIFFWriteDirectory(tif):
            raise LibTiffError("TIFFWriteDirectory", _take_messages())
    finally:
        lib.TIFFClose(tif)


def tiff_file(data: bytes, layout: Layout) -> bytes:
    """A whole TIFF file around a raw strip (for other readers, e.g. Pillow)."""
    fd = os.memfd_create("faxpipe-libtiff-file")
    try:
        _write_raw_tiff(fd, data, layout)
        _take_messages()
        return os.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)


def decode(data: bytes, scheme: str, width: int, height: int, *, fill: bool = False,
           bit_order: str = "msb", yres: float = 196.0) -> bytes:
    """The packed rows (MSB-first, 1 = black) libtiff decodes from a raw strip."""
    layout = layout_for(scheme, width, height, fill=fill, bit_order=bit_order, yres=yres)
    with DecodeJob(data, layout) as job:
        return job.run().data


def decode_result(data: bytes, layout: Layout) -> Result:
    with DecodeJob(data, layout) as job:
        return job.run()


# ---------------------------------------------------------------------------------------------
# files written by others


@dataclass
class Strip:
    """One strip of one page of a TIFF file, with the tags needed to decode it."""

    page: int
    index: int
    rows: int
    data: bytes
    layout: Layout
    rows_per_strip: int

    @property
    def scheme(self) -> str:
        if self.layout.compression == COMPRESSION_T6:
            return "mmr"
        if self.layout.compression == COMPRESSION_RLE:
            return "rle"
        return "mr" if self.layout.t4options & T4_2D else "mh"

    @property
    def bit_order(self) -> str:
        return "lsb" if self.layout.fill_order == 2 else "msb"


def _directories(path: str):
    """Yield (page number, TIFF handle, Layout) for every directory of a TIFF file."""
    lib = library()
    tif = lib.TIFFOpen(os.fsencode(path), b"r")
    if not tif:
        raise LibTiffError(f"TIFFOpen({path})", _take_messages())
    try:
        page = 0
        while True:
            layout = Layout(_get(tif, TAG_IMAGEWIDTH), _get(tif, TAG_IMAGELENGTH),
                            _get(tif, TAG_COMPRESSION) or 1, _get(tif, TAG_T4OPTIONS) or 0,
                            _get(tif, TAG_FILLORDER) or 1, _get(tif, TAG_XRESOLUTION) or 204.0,
                            _get(tif, TAG_YRESOLUTION) or 196.0)
            yield page, tif, layout
            if not lib.TIFFReadDirectory(tif):
                break
            page += 1
    finally:
        lib.TIFFClose(tif)
        _take_messages()


def read_strips(path: str) -> list[Strip]:
    """Every strip of every page of a TIFF file, raw, as libtiff reads it (TIFFReadRawStrip)."""
    strips = []
    for page, tif, layout in _directories(path):
        per = min(_get(tif, TAG_ROWSPERSTRIP) or layout.height, layout.height)
        for index in range(library().TIFFNumberOfStrips(tif)):
            rows = min(per, layout.height - index * per)
            strips.append(Strip(page, index, rows, _read_raw(tif, index), layout, per))
    return strips


def read_pages(path: str) -> list[tuple[Layout, bytes]]:
    """Every page of a TIFF file decoded by libtiff: (layout, packed rows)."""
    lib = library()
    pages = []
    for _, tif, layout in _directories(path):
        chunks = []
        for index in range(lib.TIFFNumberOfStrips(tif)):
            size = lib.TIFFStripSize(tif)
            buf = ctypes.create_string_buffer(size)
            n = lib.TIFFReadEncodedStrip(tif, index, buf, size)
            if n < 0:
                raise LibTiffError("TIFFReadEncodedStrip", _take_messages())
            chunks.append(buf.raw[:n])
        pages.append((layout, b"".join(chunks)))
    return pages
