"""The six benchmark pages of reference/performance.md, made deterministically.

``page(name, resolution)`` → a faxpipe.Page of 1728 pels × 2287 rows (fine, 204×196 dpi) or
1143 rows (standard, 204×98 dpi):

* text    — a dense A4 page of 10.5 pt serif prose (URW Times, else DejaVu Serif), ≈8 % black;
* letter  — a sparse business letter, ≈4 % black;
* photo   — a synthetic natural-looking scene (sky gradient, sun, hills, a lake, foliage
            texture, film grain) Floyd–Steinberg dithered by Pillow, ≈50 % black;
* white   — all white;
* checker — a 1-pel checkerboard, first pel black (a row starting black has 1,729 runs);
* noise   — 50 % random pels (seeded).

Text is drawn at 204 dpi in both directions, then scaled vertically to the fax resolution, so
glyphs keep their shape on the non-square fax grid. Everything is seeded: the same fonts give
the same pages.
"""

from __future__ import annotations

import functools
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from faxpipe import Page, PaperSize, Resolution

NAMES = ("text", "letter", "photo", "white", "checker", "noise")
WIDTH = 1728
XDPI = 204
ROWS = {Resolution.STANDARD: 1143, Resolution.FINE: 2287}  # A4 (performance.md, DESIGN.md)

SERIF = (
    "/usr/share/fonts/opentype/urw-base35/NimbusRoman-Regular.otf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
)
SERIF_BOLD = (
    "/usr/share/fonts/opentype/urw-base35/NimbusRoman-Bold.otf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
)

WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there been one all we their has would when if so no what "
    "will more up out about into than them can only other new some could time these two may then "
    "do first any my now such like our over man me even most made after also did many before must "
    "through back years where much your way well down should because each just those people how "
    "too little state good very make world still own see men work long get here between both life "
    "being under never day same another know while last might us great old year off come since "
    "against go came right used take three transmission facsimile document receiver signal page "
    "resolution modem protocol telephone office contract agreement invoice schedule delivery "
    "payment account reference department committee proposal specification procedure"
).split()


def _font(candidates, size: float):
    for path in candidates:
        try:
            return ImageFont.truetype(path, round(size))
        except OSError:
            continue
    raise RuntimeError(f"none of these fonts is installed: {', '.join(candidates)}")


def _pt(points: float) -> float:
    """Points to pixels at 204 dpi (the canvas is square 204 dpi before vertical scaling)."""
    return points * XDPI / 72


def _sentences(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 22))]
        words[0] = words[0].capitalize()
        for i in range(1, len(words) - 1):
            if rng.random() < 0.08:
                words[i] += ","
        out.append(" ".join(words) + rng.choice(".....;:?"))
    return out


def _wrap(draw, text: str, font, width: float) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}" if line else word
        if draw.textlength(trial, font=font) <= width:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _to_page(canvas: Image.Image, resolution: Resolution) -> Page:
    """A 204×204-dpi grey canvas → a fax page of the resolution (vertical scale, threshold)."""
    rows = ROWS[resolution]
    grey = canvas.resize((WIDTH, rows), Image.Resampling.LANCZOS)
    bilevel = grey.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
    return Page.from_image(bilevel, XDPI, resolution.ydpi)


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    height = round(PaperSize.A4.length_mm / 25.4 * XDPI)
    canvas = Image.new("L", (WIDTH, height), 255)
    return canvas, ImageDraw.Draw(canvas)


def text(resolution: Resolution) -> Page:
    """A dense page of 10.5 pt prose, justified paragraphs, 12 pt leading."""
    canvas, draw = _canvas()
    rng = random.Random(1)
    font = _font(SERIF, _pt(10.5))
    left, top = _pt(42), _pt(40)
    width = WIDTH - 2 * left
    leading = _pt(12)
    y = top
    bottom = canvas.height - _pt(36)
    while y + leading < bottom:
        paragraph = " ".join(_sentences(rng, rng.randint(3, 7)))
        lines = _wrap(draw, paragraph, font, width)
        for n, line in enumerate(lines):
            if y + leading >= bottom:
                break
            x = left + (_pt(18) if n == 0 else 0)
            words = line.split()
            if n < len(lines) - 1 and len(words) > 1:  # justify
                used = sum(draw.textlength(w, font=font) for w in words)
                gap = (width - (x - left) - used) / (len(words) - 1)
                for w in words:
                    draw.text((x, y), w, font=font, fill=0)
                    x += draw.textlength(w, font=font) + gap
            else:
                draw.text((x, y), line, font=font, fill=0)
            y += leading
    return _to_page(canvas, resolution)


def letter(resolution: Resolution) -> Page:
    """A business letter: letterhead and rule, addresses, date, five short paragraphs, signature."""
    canvas, draw = _canvas()
    rng = random.Random(2)
    body = _font(SERIF, _pt(12))
    head = _font(SERIF_BOLD, _pt(20))
    small = _font(SERIF, _pt(8.5))
    left = _pt(72)
    width = WIDTH - 2 * left
    y = _pt(48)
    draw.text((left, y), "Meridian Facsimile Services Ltd", font=head, fill=0)
    y += _pt(26)
    draw.text((left, y), "14 Harbour Street  ·  Portsmouth PO1 3AB  ·  Telephone 023 9200 4100  ·  "
              "Fax 023 9200 4101", font=small, fill=0)
    y += _pt(14)
    draw.rectangle((left, y, WIDTH - left, y + _pt(1.2)), fill=0)
    y += _pt(40)
    for line in ("Ms Eleanor Whitfield", "Procurement Department", "Northgate Engineering plc",
                 "27 Canal Road", "Leeds LS12 2PQ"):
        draw.text((left, y), line, font=body, fill=0)
        y += _pt(14)
    y += _pt(18)
    draw.text((WIDTH - left - draw.textlength("12 March 2024", font=body), y), "12 March 2024",
              font=body, fill=0)
    y += _pt(30)
    draw.text((left, y), "Dear Ms Whitfield,", font=body, fill=0)
    y += _pt(24)
    for _ in range(6):
        paragraph = " ".join(_sentences(rng, rng.randint(3, 5)))
        for line in _wrap(draw, paragraph, body, width):
            draw.text((left, y), line, font=body, fill=0)
            y += _pt(14)
        y += _pt(10)
    y += _pt(14)
    for line in ("Yours sincerely,", "", "", "", "Jonathan Pryce", "Head of Operations"):
        draw.text((left, y), line, font=body, fill=0)
        y += _pt(14)
    # a scribbled signature between the closing and the name
    sig_y = y - _pt(14) * 4.2
    xs = np.linspace(left, left + _pt(120), 400)
    ys = sig_y + _pt(6) * np.sin(xs / _pt(9)) * np.cos(xs / _pt(23))
    draw.line(list(zip(xs.tolist(), ys.tolist())), fill=0, width=3)
    return _to_page(canvas, resolution)


def _smooth_noise(rng, rows: int, cols: int, cell: int) -> np.ndarray:
    """Random values in 0..1 on a coarse grid, smoothly interpolated (natural-looking blobs)."""
    coarse = rng.random((rows // cell + 2, cols // cell + 2)).astype(np.float32)
    img = Image.fromarray(coarse, "F").resize((cols + 2 * cell, rows + 2 * cell),
                                               Image.Resampling.BICUBIC)
    return np.asarray(img)[cell:cell + rows, cell:cell + cols]


def photo(resolution: Resolution) -> Page:
    """A synthetic landscape photograph, Floyd–Steinberg dithered (≈50 % black)."""
    rows = ROWS[resolution]
    aspect = resolution.ydpi / XDPI  # rows per pel of height on the square grid
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:rows, 0:WIDTH].astype(np.float32)
    y = y / aspect  # in square-grid pels
    h = rows / aspect
    img = 60 + 140 * np.clip(y / (0.55 * h), 0, 1)  # sky: darker high up
    d = np.hypot(x - 0.72 * WIDTH, y - 0.18 * h)  # sun with a soft halo
    img = img + 110 * np.exp(-(d / 90.0) ** 2) + 40 * np.exp(-(d / 300.0) ** 2)
    clouds = _smooth_noise(rng, rows, WIDTH, 96)
    img = img + np.where(y < 0.5 * h, 70 * np.clip(clouds - 0.5, 0, None), 0)
    # hills: a ridge line, shading with distance, and a mottled texture of fields and bushes
    ridge = 0.55 * h + 60 * np.sin(x / 170.0) + 35 * np.sin(x / 61.0 + 1.3)
    texture = _smooth_noise(rng, rows, WIDTH, 24) + 0.5 * _smooth_noise(rng, rows, WIDTH, 6)
    hills = 70 + 50 * (1 - np.exp(-(y - ridge) / 300.0)) + 70 * (texture - 0.75)
    img = np.where(y >= ridge, hills, img)
    lake = (y > 0.78 * h) & (y < 0.9 * h) & (np.abs(x - 0.4 * WIDTH) < 0.3 * WIDTH)
    ripples = 160 + 30 * np.sin(y / 2.5 + 3 * _smooth_noise(rng, rows, WIDTH, 48))
    img = np.where(lake, ripples, img)
    # a tree: trunk and a ragged crown
    trunk = (np.abs(x - 0.18 * WIDTH) < 14 + 4 * np.sin(y / 30.0)) & (y > 0.45 * h) & (y < 0.8 * h)
    crown = np.hypot(x - 0.18 * WIDTH, (y - 0.42 * h) * 1.2) < 150 + 40 * _smooth_noise(rng, rows, WIDTH, 16)
    img = np.where(trunk, 30, img)
    img = np.where(crown, 25 + 60 * _smooth_noise(rng, rows, WIDTH, 5), img)
    img = img + rng.normal(0, 10, img.shape)  # film grain
    grey = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L")
    bilevel = grey.convert("1", dither=Image.Dither.FLOYDSTEINBERG)
    return Page.from_image(bilevel, XDPI, resolution.ydpi)


def white(resolution: Resolution) -> Page:
    return Page.blank(WIDTH, ROWS[resolution], XDPI, resolution.ydpi)


def checker(resolution: Resolution, width: int = WIDTH) -> Page:
    rows = ROWS[resolution]
    return Page(width, rows, checkerboard(width, rows), XDPI, resolution.ydpi)


def checkerboard(width: int, height: int) -> bytes:
    """Packed rows of a 1-pel checkerboard whose first pel is black."""
    stride = (width + 7) // 8
    even, odd = bytes([0xAA]) * stride, bytes([0x55]) * stride
    return b"".join(even if r % 2 == 0 else odd for r in range(height))


def noise(resolution: Resolution) -> Page:
    rows = ROWS[resolution]
    data = np.random.default_rng(4).integers(0, 256, size=rows * WIDTH // 8, dtype=np.uint8)
    return Page(WIDTH, rows, data.tobytes(), XDPI, resolution.ydpi)


_MAKERS = {"text": text, "letter": letter, "photo": photo, "white": white,
           "checker": checker, "noise": noise}


@functools.lru_cache(maxsize=None)
def page(name: str, resolution: str | Resolution = "fine") -> Page:
    """One benchmark page (cached): ``name`` in NAMES, ``resolution`` standard or fine."""
    return _MAKERS[name](Resolution.parse(resolution))


if __name__ == "__main__":
    import sys
    import time

    for res in ("fine", "standard"):
        for name in NAMES:
            start = time.perf_counter()
            p = page(name, res)
            ms = (time.perf_counter() - start) * 1e3
            print(f"{name:8} {res:9} {p.width}×{p.height} black {p.black_fraction() * 100:5.1f} %"
                  f"  ({ms:.0f} ms)")
            if len(sys.argv) > 1:
                p.to_image().save(f"{sys.argv[1]}/{name}-{res}.png")
