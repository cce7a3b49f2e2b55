"""Plain text to grey pages, as a line printer would print it: a monospace font (DejaVu Sans
Mono) on a grid of 80 columns × 66 lines (10 characters per inch, 6 lines per inch, the US
Letter page of ECMA-48 / teletype practice), tabs every 8 columns, form feed (U+000C) starting
a page, long lines wrapped. Characters the font lacks come from a system font that has them."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from typing import Iterator

from PIL import Image, ImageDraw

from ..errors import DocumentError
from . import encoding, fonts
from .geometry import Target, fit_image

COLUMNS, LINES, TAB = 80, 66, 8
DPI = 204                       # the grid is drawn at the fax's horizontal density, square
CELL_W, LINE_H = 20, 33         # pixels at 204 dpi: 10.2 characters per inch, 6.2 lines per inch
FONT_PX = 33                    # DejaVu Sans Mono advances 0.602 em: 19.9 px
ASCENT = 25                     # baseline below the top of a line: DejaVu's 0.76 em
PAGE_W, PAGE_H = 1728, LINE_H * (LINES + 2)
LEFT = (PAGE_W - COLUMNS * CELL_W) // 2
_DROP = {"\x1a", "\x1b", "\ufeff"}  # DOS end-of-file, escape, stray BOM


@dataclass(frozen=True)
class Layout:
    pages: list[list[str]]       # lines of every page
    fallback: dict               # character -> fonts.FontFile for those the main font lacks
    encoding: str


def width(c: str) -> int:
    """Grid cells a character takes: 0 for combining marks, 2 for East Asian wide ones."""
    if unicodedata.combining(c):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def layout(data: bytes, name: str, max_pages: int = 1 << 30) -> Layout:
    """Decode and break into pages of lines; refuse characters no installed font can draw, and
    files that would have more than ``max_pages`` pages (counted before laying out)."""
    decoded = encoding.decode(data)
    if decoded is None:
        raise DocumentError(f"{name}: not plain text (binary control bytes or an unknown encoding)")
    text, enc = decoded
    at_least = (text.count("\n") + text.count("\r")) // (2 * LINES) + text.count("\f")
    if at_least > max_pages:
        raise DocumentError(f"{name}: more than {max_pages} pages of text")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(c for c in text if c not in _DROP and unicodedata.category(c) != "Cf")
    pages = []
    for chunk in text.split("\f"):
        lines = [piece for line in chunk.split("\n") for piece in _wrap(line.expandtabs(TAB))]
        if chunk.endswith("\n"):
            lines.pop()  # the newline ends the last line; it does not start another
        pages.extend(lines[i:i + LINES] for i in range(0, max(len(lines), 1), LINES))
    while pages and not any(line.strip() for line in pages[-1]):
        pages.pop()  # trailing form feeds and blank lines make no page
    if not any(line.strip() for page in pages for line in page):
        pages = []
    used = {c for page in pages for line in page for c in line if not c.isspace()}
    return Layout(pages, fonts.fallback_for(used, name), enc)


def _wrap(line: str) -> list[str]:
    """Cut a line into pieces of at most COLUMNS cells."""
    pieces, piece, cells = [], "", 0
    for c in line:
        w = width(c)
        if cells + w > COLUMNS:
            pieces.append(piece)
            piece, cells = "", 0
        piece, cells = piece + c, cells + w
    pieces.append(piece)
    return pieces


def render(lines: list[str], fallback: dict) -> Image.Image:
    """One page of text as a grey image at 204 dpi with square pixels. Each glyph is rasterised
    once (``_glyph``) and stamped into its grid cell: five times faster than drawing lines."""
    page = Image.new("L", (PAGE_W, PAGE_H), 255)
    main = fonts.mono()
    for n, line in enumerate(lines):
        baseline = LINE_H * (n + 1) + ASCENT
        col = 0
        for c in line:
            w = width(c)
            if not c.isspace():
                font = fallback.get(c, main)
                mask, dx, dy = _glyph(font.path, font.index, c, w == 0)
                if mask is not None:
                    # a cell's centre; a combining mark goes where the pen stands after its base
                    x = LEFT + col * CELL_W + (w * CELL_W // 2 if w else 0) + dx
                    y = baseline + dy
                    page.paste(0, (x, y, x + mask.width, y + mask.height), mask)
            col += w
    return page


@functools.lru_cache(maxsize=4096)
def _glyph(path: str, index: int, c: str, combining: bool):
    """(coverage mask, x offset, y offset) of a character drawn at the pen position, anchored
    at its advance's middle on the baseline (at the pen for combining marks)."""
    face = fonts.truetype(path, index, FONT_PX)
    anchor = "ls" if combining else "ms"
    left, top, right, bottom = face.getbbox(c, anchor=anchor)
    if right <= left or bottom <= top:
        return None, 0, 0
    mask = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(mask).text((-left, -top), c, font=face, fill=255, anchor=anchor)
    return mask, left, top


def pages(lay: Layout, target: Target) -> Iterator[Image.Image]:
    """Grey fax pages of a laid-out text, one at a time."""
    for lines in lay.pages:
        yield fit_image(target, render(lines, lay.fallback), DPI, DPI)
