"""The header line faxes carry at the top of every page (T.30 practice: date and time, the
sender's number, a text, ``page n/N``; api-contract.md ``headerText``). It is drawn in a band the
geometry keeps free, so it never covers content."""

from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw

from . import fonts
from .geometry import Target

FONT_PX = 24          # at 204 dpi: 3 mm, about 8.5 pt
BAND_PX = 34          # band height at 204 dpi, square pixels
MARGIN_PX = 40
MAX_TEXT = 50         # api-contract.md: headerText is at most 50 characters


@dataclass(frozen=True)
class Header:
    """What the header line says; ``date`` defaults to the time of conversion."""

    text: str = ""
    sender: str = ""
    date: _dt.datetime | None = None

    def line(self, number: int, total: int, when: _dt.datetime) -> str:
        parts = [(self.date or when).strftime("%Y-%m-%d %H:%M"), self.sender, self.text[:MAX_TEXT],
                 f"page {number}/{total}"]
        return "   ".join(p for p in parts if p)


def band_rows(target: Target) -> int:
    """Rows the band takes at the target's resolution."""
    return round(BAND_PX * target.ydpi / target.xdpi)


def strip(target: Target, text: str, name: str) -> Image.Image:
    """The band as a grey image, ``text`` drawn in it (fallback fonts as for text pages)."""
    left, ink = _drawn(target, text, name)
    band = Image.new("L", (target.width, ink.height), 255)
    band.paste(ink, (left, 0))
    return band


def draw(page, target: Target, text: str, name: str) -> None:
    """Put the band at the top of a grey page: a Pillow image, or raw rows (``Grey``)."""
    left, ink = _drawn(target, text, name)
    rows, width = ink.height, ink.width
    if isinstance(page, Image.Image):
        page.paste(255, (0, 0, target.width, rows))
        page.paste(ink, (left, 0))
        return
    pixels, stride = page.pixels, page.width
    pixels[:rows * stride] = b"\xff" * (rows * stride)
    data = ink.tobytes()
    for y in range(rows):
        at = y * stride + left
        pixels[at:at + width] = data[y * width:(y + 1) * width]


def _drawn(target: Target, text: str, name: str) -> tuple[int, Image.Image]:
    """(left, ink): the columns of the band from ``left`` on that hold the text, at the band's
    rows (the rest of the band is white). Drawn square (``BAND_PX`` rows at 204 dpi), then
    fitted to the rows of the target's resolution, column by column."""
    extra = fonts.fallback_for(text, name)
    glyphs = _glyphs() if not extra and all(_composable(c) for c in text) else None
    left, band = (_compose(glyphs, text) if glyphs is not None else _pillow(text, extra, target.width))
    if left + band.width > target.width:            # a line longer than the page is cut off
        band = band.crop((0, 0, target.width - left, band.height))
    rows = band_rows(target)
    return left, band if rows == BAND_PX else band.resize((band.width, rows), Image.Resampling.LANCZOS)


def _pillow(text: str, extra: dict, width: int) -> tuple[int, Image.Image]:
    """The band drawn by Pillow, run by run (each run in the font that has its characters)."""
    band = Image.new("L", (width, BAND_PX), 255)
    ink = ImageDraw.Draw(band)
    x = MARGIN_PX
    for run, font in _runs(text, extra):
        face = fonts.truetype(font.path, font.index, FONT_PX)
        ink.text((x, BAND_PX // 2), run, font=face, fill=0, anchor="lm")
        x += face.getlength(run)
    return 0, band


def _composable(c: str) -> bool:
    """Characters whose glyph does not depend on its neighbours: Latin script, no combining
    marks (shaping and bidirectional text go through Pillow's layout)."""
    o = ord(c)
    return 0x20 <= o < 0x7F or 0xA0 <= o < 0x250


class Glyphs:
    """The monospace font's glyphs as Pillow draws them, kept across pages and requests: a line
    of :func:`_composable` characters put together from them has the same pels as Pillow drawing
    it (each glyph at a whole pel, coverage of glyphs that touch combined as a + b - ab/255).
    A glyph is kept column by column, each column the band's height, so placing it is one copy."""

    LIMIT = 4096

    def __init__(self, face):
        self.face = face
        self._cache: dict = {}
        middle = face.getmask2("x", "L", anchor="lm")[1][1]
        base = face.getmask2("x", "L", anchor="ls")[1][1]
        self.baseline = BAND_PX // 2 + middle - base     # the row of the baseline in the band

    def get(self, c: str) -> tuple[bytes, int, int, int]:
        """(columns, left, width, advance): the glyph's coverage column-major in the band's
        rows, its first column from the pen, its width in columns, the advance in 1/64 pel."""
        g = self._cache.get(c)
        if g is None:
            core, (left, top) = self.face.getmask2(c, "L", anchor="ls")
            width, height = core.size
            columns = b""
            if width and height:
                full = Image.new("L", (width, BAND_PX), 0)
                full.paste(Image.frombytes("L", core.size, bytes(core)), (0, self.baseline + top))
                columns = full.transpose(Image.Transpose.TRANSPOSE).tobytes()
            g = (columns, left, width, round(self.face.getlength(c) * 64))
            if len(self._cache) < self.LIMIT:
                self._cache[c] = g
        return g


@functools.lru_cache(maxsize=1)
def _glyphs() -> Glyphs:
    main = fonts.mono()
    return Glyphs(fonts.truetype(main.path, main.index, FONT_PX))


@functools.lru_cache(maxsize=1)
def _cover_table() -> bytes:
    """a + b - ab/255 (rounded as Pillow does) for a << 8 | b."""
    def both(a: int, b: int) -> int:
        t = a * b + 128
        return a + b - ((t + (t >> 8)) >> 8)
    return bytes(both(a, b) for a in range(256) for b in range(256))


def _compose(glyphs: Glyphs, text: str) -> tuple[int, Image.Image]:
    placed, pen = [], 0
    for c in text:
        columns, left, width, advance = glyphs.get(c)
        if columns:
            placed.append((MARGIN_PX + ((pen + 32) >> 6) + left, width, columns))
        pen += advance
    if not placed:
        return MARGIN_PX, Image.new("L", (1, BAND_PX), 255)
    x0 = min(x for x, _, _ in placed)
    x1 = max(x + width for x, width, _ in placed)
    cover = bytearray(BAND_PX * (x1 - x0))          # column-major
    end = x0                                        # columns from here on are still empty
    for x, width, columns in placed:
        at = (x - x0) * BAND_PX
        if x < end:     # it touches a glyph before it: combine where they share columns
            k = min((end - x) * BAND_PX, len(columns))
            table = _cover_table()
            cover[at:at + k] = bytes(table[a << 8 | b] for a, b in zip(cover[at:at + k], columns))
            cover[at + k:at + len(columns)] = columns[k:]
        else:
            cover[at:at + len(columns)] = columns
        end = max(end, x + width)
    ink = Image.frombytes("L", (BAND_PX, x1 - x0), bytes(cover)).transpose(Image.Transpose.TRANSPOSE)
    return x0, ImageChops.invert(ink)               # black text on white: 255 - coverage


def _runs(text: str, extra: dict):
    """Split text into runs that one font draws."""
    main = fonts.mono()
    run, font = "", main
    for c in text:
        want = extra.get(c, main)
        if want is not font and run:
            yield run, font
            run = ""
        run, font = run + c, want
    if run:
        yield run, font
