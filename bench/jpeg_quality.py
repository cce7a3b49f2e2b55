"""Quality of faxpipe's JPEG path against a full-quality reference, on two A4 fine pages.

    python bench/jpeg_quality.py

Inputs, made on the spot: the bench's 3000×4000 photograph (tests/documents.py photo_jpeg) and
a page of 10.5 pt text rendered by PDFium at 360 dpi and saved as a JPEG (quality 85), as a
scanner would. Reference: Pillow decodes the whole image, LANCZOS-resizes it to the fitted size
on the page, and faxpipe's ``auto`` bilevel makes the page. faxpipe: ``faxpipe.convert``, the
grey page taken just before the bilevel step; once as it runs (libjpeg in bands,
faxpipe.normalize.jpegbands) and once with that path off (TurboJPEG's whole decode, then
fit_grey). Reported per image: grey PSNR (the placed content
against the reference's), "differing" = share of the page's bits that differ from the
reference page, "tone" = mean absolute difference of the 8×8-pel averages of the two bilevel
pages in grey levels, and the share of black pels (the reference's in brackets).
"""

from __future__ import annotations

import io
import math
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import documents  # noqa: E402

import faxpipe  # noqa: E402
from faxpipe import bilevel  # noqa: E402
from faxpipe.normalize.geometry import Target, place  # noqa: E402
from faxpipe.page import PaperSize, Resolution  # noqa: E402

FINE = Target(PaperSize.A4, Resolution.FINE)


def scanned_text(dpi: int = 360) -> bytes:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(documents.text_pdf(1, seed=7)[0])
    image = pdf[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def reference(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data)).convert("L")
    where = place(FINE, image.width, image.height)
    page = Image.new("L", (FINE.width, FINE.rows), 255)
    page.paste(image.resize((where.width, where.height), Image.Resampling.LANCZOS), (where.x, where.y))
    return np.asarray(page)


def faxpipe_grey(data: bytes) -> np.ndarray:
    """faxpipe's grey page, caught on its way to the bilevel step."""
    caught = []
    real = bilevel.to_page
    module = sys.modules["faxpipe.normalize.convert"]  # the package's name is the function

    def spy(grey, *args, **kwargs):
        size = kwargs.get("size")
        caught.append(np.frombuffer(bytes(grey), np.uint8).reshape(size[1], size[0])
                      if size else np.asarray(grey))
        return real(grey, *args, **kwargs)

    saved = module.to_page
    module.to_page = spy
    try:
        faxpipe.convert([("q.jpg", data)], "fine", "a4")
    finally:
        module.to_page = saved
    return caught[0]


def bits(grey: np.ndarray) -> np.ndarray:
    page = bilevel.to_page(np.ascontiguousarray(grey).tobytes(), 204, 196,
                           size=(grey.shape[1], grey.shape[0]))
    packed = np.frombuffer(page.data, np.uint8).reshape(page.height, -1)
    return np.unpackbits(packed, axis=1)[:, :page.width].astype(bool)


def tone(a: np.ndarray, b: np.ndarray) -> float:
    h, w = (a.shape[0] // 8) * 8, (a.shape[1] // 8) * 8

    def blocks(x):
        return x[:h, :w].reshape(h // 8, 8, w // 8, 8).mean(axis=(1, 3)) * 255

    return float(np.abs(blocks(a) - blocks(b)).mean())


def row(name: str, data: bytes) -> str:
    ref, ours = reference(data), faxpipe_grey(data)
    image = Image.open(io.BytesIO(data))
    where = place(FINE, image.width, image.height)
    box = (slice(where.y, where.y + where.height), slice(where.x, where.x + where.width))
    mse = float(((ref[box].astype(float) - ours[box].astype(float)) ** 2).mean())
    psnr = 10 * math.log10(255 ** 2 / mse) if mse else float("inf")
    ref_bits, our_bits = bits(ref), bits(ours)
    differing = float((ref_bits != our_bits).mean())
    return (f"| {name} | {psnr:.1f} dB | {differing:.2%} | {tone(ref_bits, our_bits):.2f} | "
            f"{our_bits.mean():.2%} ({ref_bits.mean():.2%}) |")


def main() -> None:
    from faxpipe.normalize import jpegbands

    print("| image | path | grey PSNR | differing | tone | black (reference) |")
    print("|---|---|--:|--:|--:|--:|")
    bands = jpegbands._jpeg
    for name, data in (("photo 3000×4000", documents.photo_jpeg(3000, 4000)),
                       ("text page scanned at 360 dpi", scanned_text(360))):
        for path, module in (("libjpeg in bands", bands), ("TurboJPEG whole, then shrunk", None)):
            if path == "libjpeg in bands" and bands is None:
                continue
            jpegbands._jpeg = module
            try:
                print(row(f"{name} | {path}", data))
            finally:
                jpegbands._jpeg = bands


if __name__ == "__main__":
    main()
