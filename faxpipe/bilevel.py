"""Grey to bilevel: threshold, error diffusion, ordered dither and packing (T.4 §2 page model).

``to_page(grey, xres, yres, method="auto", level=None)`` turns a Pillow "L" image (0 black …
255 white) into a :class:`faxpipe.Page` (packed rows, MSB-first, 1 = black, padding zero).
The work is done in C (``faxpipe.codec._bilevel``) with the GIL released.

Methods:

* ``threshold`` — black where grey < ``level``; without a level, the text level: two fifths of
  the way from Otsu's level to the paper's mean grey, which keeps anti-aliased strokes whole
  (OCR accuracy at standard resolution rises from 97 % to 99 % on 8 pt text against Otsu's
  own level; tests/test_legibility.py).
* ``diffusion`` — Floyd–Steinberg error diffusion, serpentine (``level`` default 128).
* ``ordered`` — ordered dither with ``matrix``: ``cluster`` (clustered dot, 0°, 25 lpi at
  204 dpi; a half-height cell at standard resolution so the dot stays round on paper — the one
  that compresses best with MH/MR/MMR, see BENCHMARKS.md "Bilevel"), ``cluster45`` (45°,
  36 lpi) or ``bayer`` (dispersed dot, 8×8).
* ``auto`` — per tile of 32 × 32 pels, so a page of text with a chart, a logo, a photograph or
  shaded boxes keeps crisp letters and halftoned greys. A tile is a photo when a quarter of its
  pels are smooth mid-greys (64 ≤ grey < 192, differing from their right and lower neighbours by
  less than 24): the anti-aliased edges of letters are mid-grey but never smooth. Smooth light or
  dark tints (a gradient's ends, pale grey steps) join a photo they touch; a 3 × 3 vote then
  keeps halftone tiles off letters and text tiles out of photographs. Text tiles are thresholded
  at the text level of the text tiles, photo tiles halftoned with ``matrix`` in page coordinates
  (no seams). A page of text only comes out exactly as ``threshold``, a photograph exactly as
  ``ordered``; BENCHMARKS.md "Bilevel" has the cost of a mixed page.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codec import _bilevel
from .errors import CodecError
from .page import Page, check_geometry

METHODS = {"auto": _bilevel.AUTO, "threshold": _bilevel.THRESHOLD,
           "diffusion": _bilevel.DIFFUSION, "ordered": _bilevel.ORDERED}
MATRICES = ("cluster", "cluster45", "bayer")
_NAMES = {code: name for name, code in METHODS.items()}

_NAMES[_bilevel.MIXED] = "mixed"
TILE = _bilevel.TILE

__all__ = ["to_page", "analyse", "matrix_thresholds", "Analysis", "METHODS", "MATRICES", "TILE"]


@dataclass(frozen=True)
class Analysis:
    """What ``auto`` sees on a page: the method it picks (``threshold``, ``ordered``, or
    ``mixed`` for both on one page), the threshold its text tiles get (``level``; -1 when all
    are halftoned), Otsu's level of those tiles, the page's share of mid-grey pels, the share of
    tiles halftoned, and the tile map (rows of ``TILE`` × ``TILE`` pel tiles, True = halftone)."""

    method: str
    level: int
    otsu: int
    mid_fraction: float
    halftone_fraction: float = 0.0
    tiles: tuple[tuple[bool, ...], ...] = ()


def _matrix_id(matrix: str, yres: float) -> int:
    if matrix == "cluster":
        return _bilevel.CLUSTER_8X4 if yres < 150 else _bilevel.CLUSTER_8X8
    if matrix == "cluster45":
        return _bilevel.CLUSTER45_8X8
    if matrix == "bayer":
        return _bilevel.BAYER_8X8
    raise CodecError(f"unknown dither matrix {matrix!r}: use {', '.join(MATRICES)}")


def _grey(grey, size=None, stride=None):
    """(buffer, width, height, stride) for a Pillow image (converted to "L" if need be) or,
    with ``size``, a buffer of 8-bit rows (e.g. a PDFium greyscale bitmap: no copy)."""
    if size is None:
        if not hasattr(grey, "mode") or not hasattr(grey, "tobytes"):
            raise CodecError(f"expected a Pillow image (or a buffer and its size), not {type(grey).__name__}")
        if grey.mode != "L":
            grey = grey.convert("L")
        width, height = grey.size
        check_geometry(width, height)
        return grey.tobytes(), width, height, width
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise CodecError(f"size must be (width, height), not {size!r}") from None
    check_geometry(width, height)
    if isinstance(grey, str) or not hasattr(grey, "__buffer__") and not isinstance(grey, (bytes, bytearray, memoryview)):
        try:
            memoryview(grey)
        except TypeError:
            raise CodecError(f"expected a buffer of grey rows, not {type(grey).__name__}") from None
    stride = width if stride is None else stride
    if not isinstance(stride, int) or stride < width:
        raise CodecError(f"stride must be an integer ≥ the width {width}, not {stride!r}")
    return grey, width, height, stride


def to_page(grey, xres: float = 204.0, yres: float = 196.0, method: str = "auto",
            level: int | None = None, *, matrix: str = "cluster", size: tuple[int, int] | None = None,
            stride: int | None = None) -> Page:
    """A bilevel page from a Pillow "L" image (other modes are converted to "L" first), or
    from any buffer of 8-bit grey rows given its ``size`` (and ``stride``, default the width)."""
    if method not in METHODS:
        raise CodecError(f"unknown bilevel method {method!r}: use {', '.join(METHODS)}")
    if level is not None and (not isinstance(level, int) or not 0 <= level <= 256):
        raise CodecError(f"threshold level must be an integer 0..256, not {level!r}")
    if not (0 < float(xres) <= 10000 and 0 < float(yres) <= 10000):
        raise CodecError(f"resolution {xres}×{yres} dpi is out of range")
    buffer, width, height, stride = _grey(grey, size, stride)
    rows, *_ = _bilevel.convert(
        buffer, width, height, METHODS[method],
        _bilevel.NO_LEVEL if level is None else level, _matrix_id(matrix, float(yres)), stride,
    )
    return Page(width, height, rows, float(xres), float(yres))


def analyse(grey) -> Analysis:
    """What ``method="auto"`` would do with this image, and why."""
    buffer, width, height, _ = _grey(grey)
    method, level, otsu, mid, halftone, tile_map, across = _bilevel.analyse(buffer, width, height)
    tiles = tuple(tuple(bool(b) for b in tile_map[i:i + across])
                  for i in range(0, len(tile_map), across))
    return Analysis(_NAMES[method], level, otsu, mid, halftone, tiles)


def matrix_thresholds(matrix: str = "cluster", yres: float = 196.0) -> list[list[int]]:
    """The dither matrix as thresholds: a pel is black where grey < the cell's value."""
    order, cols, rows = _bilevel.matrix(_matrix_id(matrix, yres))
    cells = cols * rows
    return [[256 - (2 * order[y * cols + x] + 1) * 128 // cells for x in range(cols)] for y in range(rows)]
