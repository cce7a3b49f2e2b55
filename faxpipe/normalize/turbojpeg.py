"""JPEG decoding through libjpeg-turbo's TurboJPEG API (Debian: libturbojpeg0), called with ctypes.

Pillow's draft mode scales a JPEG down by 1/2, 1/4 or 1/8 only; libjpeg-turbo's decoder also
scales by 3/8, 5/8, 3/4 and 7/8 (its scaled inverse DCTs), so a 3000×4000 photograph that an A4
fine page needs at 1728 pels across is decoded at 5/8 (1875×2500) instead of in full, and straight
to grey: the chroma is never transformed and the resize after it is a third of the work.

Only the TurboJPEG 2 functions are used (``tjInitDecompress``, ``tjDecompressHeader3``,
``tjGetScalingFactors``, ``tjDecompress2``), which every libturbojpeg since 1.4 has (Debian 12
ships 2.1.5); the TurboJPEG 3 functions (``tj3*``) are not needed.

:func:`decode_grey` returns ``None`` for what it leaves to Pillow: no library, a CMYK / YCCK
image, a header that does not agree with Pillow's, and every file libjpeg-turbo warns about or
fails on (damaged or truncated data: Pillow's verdict on those stands, as before).
"""

from __future__ import annotations

import ctypes
import threading

from .geometry import Grey

LIBRARY = "libturbojpeg.so.0"

# turbojpeg.h (2.x)
TJPF_GRAY = 6
TJCS_RGB, TJCS_YCBCR, TJCS_GRAY, TJCS_CMYK, TJCS_YCCK = 0, 1, 2, 3, 4
TJFLAG_STOPONWARNING = 8192
_GREY_FROM = (TJCS_RGB, TJCS_YCBCR, TJCS_GRAY)


class _ScalingFactor(ctypes.Structure):
    _fields_ = [("num", ctypes.c_int), ("denom", ctypes.c_int)]


_lock = threading.Lock()
_state: dict = {}


def _library():
    """The loaded library with its prototypes and scaling factors (≤ 1, smallest first), or
    None when it cannot be loaded; tried once."""
    with _lock:
        if "lib" in _state:
            return _state["lib"]
        try:
            lib = ctypes.CDLL(LIBRARY)
            handle = ctypes.c_void_p
            lib.tjInitDecompress.restype = handle
            lib.tjInitDecompress.argtypes = []
            lib.tjDestroy.restype = ctypes.c_int
            lib.tjDestroy.argtypes = [handle]
            lib.tjDecompressHeader3.restype = ctypes.c_int
            lib.tjDecompressHeader3.argtypes = [handle, ctypes.c_char_p, ctypes.c_ulong] + [
                ctypes.POINTER(ctypes.c_int)] * 4
            lib.tjDecompress2.restype = ctypes.c_int
            lib.tjDecompress2.argtypes = [handle, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p,
                                          ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                          ctypes.c_int]
            lib.tjGetScalingFactors.restype = ctypes.POINTER(_ScalingFactor)
            lib.tjGetScalingFactors.argtypes = [ctypes.POINTER(ctypes.c_int)]
            count = ctypes.c_int()
            table = lib.tjGetScalingFactors(ctypes.byref(count))
            if not table:
                raise OSError("tjGetScalingFactors failed")
            factors = sorted({(table[i].num, table[i].denom) for i in range(count.value)
                              if 0 < table[i].num <= table[i].denom},
                             key=lambda f: f[0] / f[1])
            _state["lib"], _state["factors"] = lib, tuple(factors)
        except (OSError, AttributeError) as exc:
            _state["lib"], _state["factors"], _state["why"] = None, (), str(exc)
        return _state["lib"]


def available() -> bool:
    """Whether libturbojpeg can be loaded (else every JPEG goes through Pillow)."""
    return _library() is not None


def scaling_factors() -> tuple[tuple[int, int], ...]:
    """The library's reduction factors (num, denom), smallest first; () without the library."""
    _library()
    return _state["factors"]


def scaled(size: int, factor: tuple[int, int]) -> int:
    """libjpeg-turbo's size of one side decoded at ``factor`` (TJSCALED: rounded up)."""
    num, denom = factor
    return (size * num + denom - 1) // denom


def choose_factor(width: int, height: int, need_width: int, need_height: int,
                  factors: tuple[tuple[int, int], ...] | None = None) -> tuple[int, int]:
    """The smallest factor whose decoded size is still at least ``need_width``×``need_height``
    (the page's pels): (1, 1) when none is smaller."""
    for factor in scaling_factors() if factors is None else factors:
        if scaled(width, factor) >= need_width and scaled(height, factor) >= need_height:
            return factor
    return (1, 1)


def decode_grey(data: bytes, size: tuple[int, int], need: tuple[int, int]) -> Grey | None:
    """The JPEG ``data`` (``size`` as Pillow read its header) decoded to grey at the smallest
    scale that still holds ``need`` pels, as rows of bytes (:class:`Grey`, no copy on the way to
    the page); None leaves it to Pillow."""
    lib = _library()
    if lib is None:
        return None
    handle = lib.tjInitDecompress()
    if not handle:
        return None
    try:
        width, height, subsamp, space = (ctypes.c_int() for _ in range(4))
        if lib.tjDecompressHeader3(handle, data, len(data), ctypes.byref(width), ctypes.byref(height),
                                   ctypes.byref(subsamp), ctypes.byref(space)) != 0:
            return None
        if (width.value, height.value) != tuple(size) or space.value not in _GREY_FROM:
            return None
        factor = choose_factor(width.value, height.value, *need)
        w, h = scaled(width.value, factor), scaled(height.value, factor)
        pixels = bytearray(w * h)
        target = (ctypes.c_ubyte * len(pixels)).from_buffer(pixels)
        status = lib.tjDecompress2(handle, data, len(data), target, w, w, h, TJPF_GRAY,
                                   TJFLAG_STOPONWARNING)
        del target
        if status != 0:
            return None
        return Grey(pixels, w, h)
    finally:
        lib.tjDestroy(handle)
