"""Input documents made on the spot (reportlab, Pillow), with the text they hold.

``text_pdf(pages, seed)`` — A4 pages of 10.5 pt Times prose, 12 pt leading, as a word
processor sets it; ``letter_pdf(seed)`` — a one-page business letter; ``photo_jpeg(w, h)`` —
a natural-looking colour photograph as JPEG. Used by tests/test_legibility.py and
bench/convert.py. Everything is seeded.
"""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image

WORDS = (
    "the of and to in a is that for it as was with be by on not this are or from at which but "
    "have an they were there been one all their has would when if so no what will more up out "
    "about into than them can only other new some could time these two may then first any now "
    "such like over even most made after also did many before must through back years where much "
    "way well down should because each just those people how little state good very make world "
    "still own see work long get here between both life being under never day same another know "
    "while last might great old year off come since against right used take three transmission "
    "facsimile document receiver signal page resolution modem protocol telephone office contract "
    "agreement invoice schedule delivery payment account reference department committee proposal"
).split()


def sentences(rng: random.Random, count: int) -> str:
    out = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
        words[0] = words[0].capitalize()
        out.append(" ".join(words) + ".")
    return " ".join(out)


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and stringWidth(trial, font, size) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return lines


def text_pdf(pages: int = 8, seed: int = 1, size: float = 10.5, font: str = "Times-Roman") -> tuple[bytes, list[list[str]]]:
    """A4 prose; returns the PDF and, per page, its lines of text."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    rng = random.Random(seed)
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, invariant=1)
    width, height = A4
    left, top, bottom, leading = 60, height - 60, 60, size * 12 / 10.5
    text = []
    for _ in range(pages):
        c.setFont(font, size)
        y, lines = top, []
        while y > bottom:
            for line in _wrap(sentences(rng, rng.randint(2, 5)), font, size, width - 2 * left):
                if y <= bottom:
                    break
                c.drawString(left, y, line)
                lines.append(line)
                y -= leading
            y -= leading / 2
        text.append(lines)
        c.showPage()
    c.save()
    return out.getvalue(), text


def letter_pdf(seed: int = 2) -> bytes:
    """A one-page business letter: letterhead, rule, address, date, paragraphs, signature."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    rng = random.Random(seed)
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, invariant=1)
    width, height = A4
    c.setFont("Helvetica-Bold", 20)
    c.drawString(72, height - 72, "ACME Facsimile Services Ltd.")
    c.setLineWidth(1.5)
    c.line(72, height - 84, width - 72, height - 84)
    c.setFont("Helvetica", 8.5)
    c.drawString(72, height - 98, "12 Harbour Street, Portsmouth PO1 2AB  ·  +44 23 9200 0000")
    y = height - 150
    c.setFont("Times-Roman", 12)
    for line in ("Ms J. Smith", "Accounts Department", "Example Holdings plc", "1 Main Road", "Leeds LS1 1AA"):
        c.drawString(72, y, line)
        y -= 14
    c.drawString(width - 180, y + 14, "26 November 2026")
    y -= 20
    c.drawString(72, y, "Dear Ms Smith,")
    y -= 24
    for _ in range(5):
        for line in _wrap(sentences(rng, 3), "Times-Roman", 12, width - 144):
            c.drawString(72, y, line)
            y -= 14
        y -= 10
    c.drawString(72, y - 10, "Yours sincerely,")
    c.setLineWidth(1)
    c.bezier(72, y - 50, 110, y - 20, 140, y - 70, 190, y - 40)
    c.drawString(72, y - 80, "A. N. Other, Director")
    c.showPage()
    c.save()
    return out.getvalue()


def photo_jpeg(width: int = 3000, height: int = 4000, quality: int = 90) -> bytes:
    """A colour photograph-like image (gradients, blobs, grain) as a baseline JPEG."""
    rng = np.random.default_rng(11)
    coarse = rng.random((height // 200 + 3, width // 200 + 3, 3)).astype(np.float32)
    small = Image.fromarray((coarse * 255).astype(np.uint8), "RGB")
    blobs = np.asarray(small.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    img = 0.6 * blobs + 90 * (1 - y) + rng.normal(0, 6, (height, width, 1)).astype(np.float32)
    out = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()
