"""The header line faxes carry at the top of every page (T.30 practice: date and time, the
sender's number, a text, ``page n/N``; api-contract.md ``headerText``). It is drawn in a band the
geometry keeps free, so it never covers content."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from PIL import Image, ImageDraw

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
    band = Image.new("L", (target.width, BAND_PX), 255)
    ink = ImageDraw.Draw(band)
    extra = fonts.fallback_for(text, name)
    x = MARGIN_PX
    for run, font in _runs(text, extra):
        face = fonts.truetype(font.path, font.index, FONT_PX)
        ink.text((x, BAND_PX // 2), run, font=face, fill=0, anchor="lm")
        x += face.getlength(run)
    rows = band_rows(target)
    return band if rows == BAND_PX else band.resize((target.width, rows), Image.Resampling.LANCZOS)


def draw(page, target: Target, text: str, name: str) -> None:
    """Put the band at the top of a grey page: a Pillow image, or raw rows (``Grey``)."""
    band = strip(target, text, name)
    if isinstance(page, Image.Image):
        page.paste(band, (0, 0))
    else:
        data = band.tobytes()
        page.pixels[:len(data)] = data


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
