"""The header line: put together from glyphs kept across requests, it has exactly the pels of
Pillow drawing the whole line; other scripts go through Pillow's layout; the band is white
around the text on both kinds of page."""

from __future__ import annotations

import random

import pytest
from PIL import Image

from faxpipe.normalize import header
from faxpipe.normalize.geometry import Grey, Target
from faxpipe.page import PaperSize, Resolution

LATIN = ("0123456789 -:/+*@#%&$!?_=<>()[]{}.,;'\"abcdefghijklmnopqrstuvwxyz"
         "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜäöüßéèçñÅøŁłŒœĀ")


def _reference(target: Target, text: str) -> bytes:
    """The band as Pillow draws the whole line (the path for text that is not composable)."""
    left, band = header._pillow(text, {}, target.width)
    rows = header.band_rows(target)
    if rows != header.BAND_PX:
        band = band.resize((band.width, rows), Image.Resampling.LANCZOS)
    assert left == 0
    return band.tobytes()


@pytest.mark.parametrize("resolution", list(Resolution))
def test_glyphs_give_pillows_pels(resolution, monkeypatch):
    combined = []
    table = header._cover_table
    monkeypatch.setattr(header, "_cover_table", lambda: combined.append(1) or table())
    target = Target(PaperSize.A4, resolution)
    rng = random.Random(7)
    texts = ["2026-11-26 20:00   +1 555 0100   ACME Invoices   page 1/3", "WWMMww&&@@%%", "W", " ", "",
             "W" * 130]                                     # longer than the page: cut off
    texts += ["".join(rng.choice(LATIN) for _ in range(rng.randint(1, 90))) for _ in range(150)]
    for text in texts:
        assert all(header._composable(c) for c in text)
        assert header.strip(target, text, "f").tobytes() == _reference(target, text), text
    assert len(combined) > 20       # glyphs whose coverage overlaps were among them


def test_other_scripts_are_drawn_by_pillow():
    target = Target(PaperSize.A4, Resolution.FINE)
    text = "page 1/1 \u05e9\u05dc\u05d5\u05dd a\u0301"       # Hebrew (right to left), a combining accent
    assert not all(header._composable(c) for c in text)
    left, band = header._drawn(target, text, "f")
    assert left == 0 and band.size == (target.width, header.band_rows(target))
    assert band.getextrema()[0] < 64                         # something was drawn


def test_draw_whitens_the_band_and_writes_the_text_on_both_page_kinds():
    target = Target(PaperSize.A4, Resolution.FINE, header.band_rows(Target(PaperSize.A4, Resolution.FINE)))
    rows, width = target.header_rows, target.width
    text = "2026-11-26 20:00   0003*210   page 1/1"
    want = header.strip(target, text, "f").tobytes()
    grey = Grey(bytearray(b"\x80") * (width * (rows + 5)), width, rows + 5)
    header.draw(grey, target, text, "f")
    assert bytes(grey.pixels[:rows * width]) == want
    assert bytes(grey.pixels[rows * width:]) == b"\x80" * (5 * width)   # below the band: untouched
    image = Image.new("L", (width, rows + 5), 0x80)
    header.draw(image, target, text, "f")
    assert image.tobytes() == bytes(grey.pixels)
    header.draw(grey, target, "M" * 200, "f")                 # too long: cut at the page's edge
    assert bytes(grey.pixels[:rows * width]) == header.strip(target, "M" * 200, "f").tobytes()
    assert bytes(grey.pixels[rows * width:]) == b"\x80" * (5 * width)
