"""Raster images through Pillow: JPEG (JFIF / Exif, baseline and progressive, grey, YCbCr, CMYK)
and the TIFF images that are not fax pages. Exif orientation (tag 274, Exif 2.3 §4.6.4) is
applied; a JPEG much larger than the page is decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT
scaling, Pillow's draft mode) when that is still at least the size the page needs. Images over
the pixel limit are refused before they are decoded (decompression bombs)."""

from __future__ import annotations

import io
import math
import struct
import warnings
from typing import Iterator

from PIL import Image

from ..errors import DocumentError
from .geometry import Target, fit_image, needed_scale
from .limits import Deadline, Limits

EXIF_ORIENTATION = 0x0112
# Exif orientation -> the transposition that makes the image upright.
_UPRIGHT = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,), 3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,), 5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,), 7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError,
                 KeyError, TypeError, ZeroDivisionError, MemoryError, Image.DecompressionBombError)


def open_image(data: bytes, name: str, limits: Limits, what: str) -> Image.Image:
    """Pillow's lazy image (only the header is read), refused when over the pixel limit."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise DocumentError(f"{name}: the image exceeds the limit of "
                            f"{limits.max_pixels / 1e6:g} megapixels (decompression bomb?)") from None
    except DECODE_ERRORS as exc:
        raise DocumentError(f"{name}: a damaged {what} ({_why(exc)})") from None
    check_pixels(image, name, limits)
    return image


def check_pixels(image: Image.Image, name: str, limits: Limits, page: int | None = None) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise DocumentError(f"{name}: an image of {width}×{height} pixels")
    if width * height > limits.max_pixels:
        where = f" (page {page})" if page else ""
        raise DocumentError(f"{name}: {width}×{height} pixels{where} exceeds the limit of "
                            f"{limits.max_pixels / 1e6:g} megapixels (decompression bomb?)")


def _why(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:160]


def dpi_of(image: Image.Image) -> tuple[float | None, float | None]:
    """The image's resolution when it says one with non-square pixels; None means square."""
    dpi = image.info.get("dpi")
    try:
        x, y = (float(v) for v in dpi)
    except (TypeError, ValueError):
        return None, None
    if x > 0 and y > 0 and abs(x - y) > 0.01 * max(x, y):
        return x, y
    return None, None


def to_grey(image: Image.Image) -> Image.Image:
    """Mode "L" from any mode Pillow reads, 16-bit samples scaled rather than clipped."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        if image.mode != "I":
            image = image.convert("I")
        top = image.getextrema()[1]
        return image.point(lambda v: v * (255 / 65535 if top > 255 else 1)).convert("L")
    if image.mode == "F":
        return image.convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    return image.convert("L")


def upright(image: Image.Image, orientation: int | None) -> Image.Image:
    for step in _UPRIGHT.get(orientation or 1, ()):
        image = image.transpose(step)
    return image


def orientation_of(image: Image.Image) -> int | None:
    try:
        value = image.getexif().get(EXIF_ORIENTATION)
    except DECODE_ERRORS:
        return None
    return value if value in range(1, 9) else None


def jpeg_pages(data: bytes, name: str, target: Target, limits: Limits) -> Iterator[Image.Image]:
    """The one grey fax page of a JPEG."""
    deadline = Deadline(limits.page_seconds)
    image = open_image(data, name, limits, "JPEG image")
    orientation = orientation_of(image)
    xdpi, ydpi = dpi_of(image)
    w, h = image.size
    turned = orientation in (5, 6, 7, 8)
    scale = needed_scale(target, *((h, w) if turned else (w, h)),
                         *((ydpi, xdpi) if turned else (xdpi, ydpi)))
    try:
        image.draft("L", (math.ceil(w * min(scale, 1.0)), math.ceil(h * min(scale, 1.0))))
        grey = to_grey(image)
    except DECODE_ERRORS as exc:
        raise DocumentError(f"{name}: a damaged JPEG image ({_why(exc)})") from None
    grey = upright(grey, orientation)
    if turned:
        xdpi, ydpi = ydpi, xdpi
    deadline.check(name, 1)
    yield fit_image(target, grey, xdpi, ydpi)
