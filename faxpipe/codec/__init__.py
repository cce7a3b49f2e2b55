"""faxpipe's G3/G4 codec: ITU-T T.4 MH (1-D) and MR (2-D) and T.6 MMR, in C.

``encode(page, scheme)`` → bytes; ``decode(data, scheme, width)`` → ``Decoded(page, stats)``;
``decode_into(data, scheme, out, width)`` fills a buffer the caller owns → ``DecodeStats``.
The C core (``_t4.c``) never touches Python; ``_t4module.c`` is thin glue that releases the GIL.
Defaults follow TIFF Class F as libtiff writes it: MH/MR with an EOL before every row and RTC at
the end, MMR with EOFB, MSB-first bits (TIFF FillOrder 1). Pass ``bit_order="lsb"`` for
FillOrder 2 and for the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ..errors import CodecError
from ..page import MAX_HEIGHT, Page, Resolution, check_geometry
from . import _t4

SCHEMES = {"mh": 0, "mr": 1, "mmr": 2}
MAX_MIN_BITS = 8192  # 40 ms, the longest T.30 minimum scan-line time, is 1344 bits at 33.6 kbit/s

__all__ = ["encode", "decode", "decode_into", "Decoded", "DecodeStats", "SCHEMES"]


class DecodeStats(NamedTuple):
    """What the decoder saw: rows produced, rows replaced because they were corrupt, the
    longest run of consecutive bad rows, whether RTC / EOFB ended the data, and the bytes used.
    (A named tuple: a frozen dataclass took a microsecond to build, a sixth of decoding a blank
    page.)"""

    rows: int
    bad_rows: int
    consecutive_bad_rows: int
    terminated: bool
    bytes_used: int


@dataclass(frozen=True)
class Decoded:
    page: Page
    stats: DecodeStats

    def __iter__(self):  # allows ``page, stats = decode(...)``
        return iter((self.page, self.stats))


def _scheme(scheme: str) -> int:
    try:
        return SCHEMES[scheme.lower()]
    except (KeyError, AttributeError):
        raise CodecError(f"unknown coding scheme {scheme!r}: use mh, mr or mmr") from None


def _lsb(bit_order: str) -> bool:
    if bit_order not in ("msb", "lsb"):
        raise CodecError(f"bit_order must be 'msb' or 'lsb', not {bit_order!r}")
    return bit_order == "lsb"


def encode(
    page: Page,
    scheme: str = "mh",
    *,
    k: int | None = None,
    eol: bool = True,
    fill: bool = False,
    rtc: bool = True,
    bit_order: str = "msb",
    min_bits: int = 0,
    byte_align: bool = False,
) -> bytes:
    """Encode a page (T.4 §4.1 MH, §4.2 MR, T.6 MMR).

    k: MR only, rows per 1-D row (T.4 §4.2.1: 2 at standard, 4 at fine and superfine);
       the default comes from ``page.yres``.
    eol: MH only; an EOL before every row (MR always has them, MMR never).
    fill: pad with zeros so that every EOL ends on a byte boundary (TIFF T4Options bit 2).
    rtc: end with RTC (six EOLs, T.4 §4.1.4) for MH/MR, or EOFB (T.6 §2.4.1.1) for MMR.
    min_bits: minimum bits per coded line, EOL included (T.4 §4.1.3 minimum transmission time;
       zero fill is put before the next EOL).
    byte_align: without EOLs (MH with eol=False, MMR), start every row and the terminator on a
       byte boundary (TIFF Compression 2 is MH, eol=False, rtc=False, byte_align=True).
    """
    if (k is None and eol and rtc and not (fill or min_bits or byte_align) and bit_order == "msb"
            and isinstance(scheme, str) and scheme in SCHEMES and page.yres in _DEFAULT_K):
        # The usual call goes straight to C: on a blank page the checks below cost a third.
        return _t4.encode(page.data, page.width, page.height, SCHEMES[scheme],
                          _DEFAULT_K[page.yres], True, False, True, False, 0, False)
    code = _scheme(scheme)
    if k is None:
        k = Resolution.from_dpi(page.yres).k
    if not 1 <= k <= 1 << 16:
        raise CodecError(f"K must be between 1 and 65536, not {k}")
    if not 0 <= min_bits <= MAX_MIN_BITS:
        raise CodecError(f"min_bits must be between 0 and {MAX_MIN_BITS}, not {min_bits}")
    if code == 1:
        eol = True
    if byte_align and eol and code != 2:
        raise CodecError("byte_align is for streams without EOLs; with EOLs use fill=True")
    return _t4.encode(
        page.data, page.width, page.height, code, k, bool(eol), bool(fill), bool(rtc),
        _lsb(bit_order), min_bits, bool(byte_align),
    )


_DEFAULT_K = {r.ydpi: r.k for r in Resolution}


def _stats(raw: tuple, height: int | None) -> DecodeStats:
    nrows, bad, consecutive, trailing, terminated, used = raw
    if height is not None and nrows < height:  # the C side left the missing rows white
        missing = height - nrows
        bad += missing
        consecutive = max(consecutive, trailing + missing)
        nrows = height
    return DecodeStats(nrows, bad, consecutive, bool(terminated), used)


def _decode_options(scheme: str, byte_align: bool) -> int:
    code = _scheme(scheme)
    if byte_align and code == 1:
        raise CodecError("byte_align is for streams without EOLs; MR always has them")
    return code


def decode(
    data: bytes,
    scheme: str,
    width: int,
    *,
    height: int | None = None,
    max_height: int = MAX_HEIGHT,
    bit_order: str = "msb",
    byte_align: bool = False,
    xres: float = 204.0,
    yres: float = 196.0,
) -> Decoded:
    """Decode a T.4 / T.6 stream into a page of ``width`` pels.

    MH and MR rows may or may not be preceded by EOLs, with or without fill; decoding stops at
    RTC / EOFB, at the end of the data, or after ``height`` rows. A corrupt MH/MR row is replaced
    by the previous good row and counted, and decoding resumes at the next EOL (T.4 §4.1.2);
    a corrupt MMR row ends the page (T.6 has no resynchronisation). When ``height`` is given the
    page has exactly that many rows: rows missing from the data are white and counted as bad.
    """
    code = _decode_options(scheme, byte_align)
    check_geometry(width, height if height is not None else 0)
    if not 0 <= max_height <= MAX_HEIGHT:
        raise CodecError(f"max_height must be between 0 and {MAX_HEIGHT}")
    limit = max_height if height is None else height
    rows, raw = _t4.decode(
        data, width, limit, code, _lsb(bit_order), bool(byte_align), height is not None
    )
    stats = _stats(raw, height)
    return Decoded(Page(width, stats.rows, rows, xres, yres), stats)


def decode_into(
    data: bytes,
    scheme: str,
    out,
    width: int,
    *,
    height: int | None = None,
    bit_order: str = "msb",
    byte_align: bool = False,
) -> DecodeStats:
    """Decode like :func:`decode`, but into ``out``, a writable buffer the caller owns (a
    ``bytearray``, ``memoryview``, mmap…), as packed rows of ``(width + 7) // 8`` bytes.

    Without ``height`` the decoder stops when ``out`` is full; with it, exactly ``height`` rows
    are written, those missing from the data white. Reusing one buffer for page after page saves
    allocating and faulting in a fresh page each time.
    """
    # The usual call goes straight to C, which checks everything again; on a blank page the
    # Python around it would cost as much as the decoding. Refusals are explained below.
    try:
        raw = _t4.decode_into(data, out, width, -1 if height is None else height,
                              _DECODE_OPTIONS[scheme, byte_align], _BIT_ORDERS[bit_order],
                              byte_align, height is not None)
    except (KeyError, TypeError, ValueError, OverflowError, CodecError):
        _check_into(scheme, out, width, height, bit_order, byte_align)
        raise
    return _stats(raw, height)


_DECODE_OPTIONS = {(name, align): code for name, code in SCHEMES.items()
                   for align in (False, True) if not (align and name == "mr")}
_BIT_ORDERS = {"msb": False, "lsb": True}


def _check_into(scheme, out, width, height, bit_order, byte_align) -> None:
    """Raise the error that explains why decode_into's arguments were refused."""
    _decode_options(scheme, byte_align)
    _lsb(bit_order)
    check_geometry(width, height if height is not None else 0)
    try:
        view = memoryview(out)
    except TypeError:
        view = None
    if view is None or view.readonly:
        raise TypeError("out must be a writable buffer (bytearray, memoryview, mmap…)")
    stride, room = (width + 7) // 8, view.nbytes
    if height is not None and height * stride > room:
        raise CodecError(f"out holds {room} bytes, {height} rows of {width} pels need "
                         f"{height * stride}")
