"""Grey to bilevel: threshold, error diffusion, ordered dither and packing (T.4 §2 page model).

``to_page(grey, xres, yres, method="auto", level=None)`` turns a Pillow "L" image (0 black …
255 white) into a :class:`faxpipe.Page` (packed rows, MSB-first, 1 = black).

Methods: ``threshold`` (``level`` fixed, or Otsu's level when ``level`` is None), ``diffusion``
(Floyd–Steinberg, serpentine), ``ordered`` (a clustered-dot matrix that compresses well with
MH/MR/MMR), and ``auto`` (threshold for text and line art, a halftone for photographs).

Temporary body: Pillow does the work until the C extension ``faxpipe.codec._bilevel`` lands.
"""

from __future__ import annotations

from .errors import CodecError
from .page import Page, check_geometry

METHODS = ("auto", "threshold", "diffusion", "ordered")

__all__ = ["to_page", "METHODS"]


def to_page(grey, xres: float = 204.0, yres: float = 196.0, method: str = "auto", level: int | None = None) -> Page:
    """A bilevel page from a Pillow "L" image at ``xres`` × ``yres`` dpi."""
    if method not in METHODS:
        raise CodecError(f"unknown bilevel method {method!r}: use {', '.join(METHODS)}")
    if level is not None and not 0 <= level <= 255:
        raise CodecError(f"threshold level must be 0..255, not {level}")
    if getattr(grey, "mode", None) != "L":
        raise CodecError("to_page needs a Pillow image of mode 'L'")
    width, height = grey.size
    check_geometry(width, height)
    if method == "diffusion":
        image = grey.convert("1")
    else:
        cut = 128 if level is None else level
        image = grey.point(lambda v: 255 if v >= cut else 0, mode="1")
    return Page(width, height, image.tobytes("raw", "1;I"), float(xres), float(yres))
