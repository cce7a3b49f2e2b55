"""Grey (mode "L") test pages for the bilevel conversion, made deterministically.

``text(rows)`` — a dense page of 10.5 pt serif prose drawn at 204 dpi and scaled to ``rows``
(anti-aliased edges, as a renderer produces); ``photo(rows)`` — a smooth synthetic scene (sky
gradient, sun, hills, texture, grain), the kind of page that must be halftoned.
Used by tests/test_bilevel.py and bench/bilevel.py.
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WIDTH = 1728
FONTS = ("/usr/share/fonts/opentype/urw-base35/NimbusRoman-Regular.otf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
WORDS = ("fax page line text the of and to in a is that for it as was with be by on not this are "
         "or from at which but have an they were there been one all their has would when if so no "
         "what will more up out about into than them can only other new some could time these two "
         "transmission facsimile document receiver signal resolution modem protocol telephone").split()


def _font(size: int):
    for path in FONTS:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default()


def text(rows: int = 2287, width: int = WIDTH) -> Image.Image:
    """Prose at 10.5 pt on a 204-dpi square canvas, resized to ``rows`` (LANCZOS)."""
    canvas = Image.new("L", (width, round(297 / 25.4 * 204)), 255)
    draw = ImageDraw.Draw(canvas)
    font = _font(round(10.5 * 204 / 72))
    rng = random.Random(7)
    y, left = 110, 120
    while y < canvas.height - 130:
        words, line = [], ""
        while True:
            word = rng.choice(WORDS)
            if draw.textlength(line + " " + word, font=font) > width - 2 * left:
                break
            line = (line + " " + word).strip()
        draw.text((left, y), line, font=font, fill=0)
        y += round(12 * 204 / 72)
    return canvas.resize((width, rows), Image.Resampling.LANCZOS)


def photo(rows: int = 2287, width: int = WIDTH) -> Image.Image:
    """A smooth natural-looking scene with film grain; mostly mid-greys."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:rows, 0:width].astype(np.float32)
    h = float(rows)
    img = 70 + 130 * np.clip(y / (0.55 * h), 0, 1)
    d = np.hypot(x - 0.7 * width, (y - 0.2 * h) * width / h)
    img += 90 * np.exp(-(d / 120.0) ** 2)
    coarse = rng.random((rows // 40 + 3, width // 40 + 3)).astype(np.float32)
    blobs = np.asarray(Image.fromarray(coarse, "F").resize((width, rows), Image.Resampling.BICUBIC))
    ridge = 0.55 * h + 0.05 * h * np.sin(x / 170.0)
    img = np.where(y >= ridge, 60 + 90 * blobs, img + 30 * (blobs - 0.5))
    img += rng.normal(0, 6, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L")
