"""Raster images through Pillow: JPEG (JFIF / Exif, baseline and progressive, grey, YCbCr, CMYK)
and the TIFF images that are not fax pages. Exif orientation (tag 274, Exif 2.3 §4.6.4) is
applied. A JPEG much larger than the page is decoded at a reduced scale when that is still at
least the size the page needs: upright, by libjpeg in eighths and in bands on two cores, shrunk
onto the page as the rows arrive (:mod:`jpegbands`); else by libjpeg-turbo in eighths, straight
to grey (:mod:`turbojpeg`), or by Pillow's draft mode at 1/2, 1/4 or 1/8 for what libjpeg-turbo
leaves to Pillow (:func:`decode_jpeg`). Images over the pixel limit are refused before they are decoded
(decompression bombs)."""

from __future__ import annotations

import io
import math
import struct
import warnings
from typing import Iterator

from PIL import Image

from ..errors import DocumentError
from . import jpegbands, turbojpeg
from .geometry import Grey, Target, fit_grey, needed_scale
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


def jpeg_pages(data: bytes, name: str, target: Target, limits: Limits) -> Iterator["Image.Image | Grey"]:
    """The one grey fax page of a JPEG."""
    deadline = Deadline(limits.page_seconds)
    image = open_image(data, name, limits, "JPEG image")
    orientation = orientation_of(image)
    xdpi, ydpi = dpi_of(image)
    w, h = image.size
    turned = orientation in (5, 6, 7, 8)
    scale = needed_scale(target, *((h, w) if turned else (w, h)),
                         *((ydpi, xdpi) if turned else (xdpi, ydpi)))
    need = (math.ceil(w * min(scale, 1.0)), math.ceil(h * min(scale, 1.0)))
    if orientation in (None, 1):
        page = jpegbands.page(data, image.size, need, target, xdpi, ydpi)
        if page is not None:
            deadline.check(name, 1)
            yield page
            return
    grey, _ = decode_jpeg(image, data, need, name)
    if orientation not in (None, 1):
        grey = upright(as_image(grey), orientation)
    if turned:
        xdpi, ydpi = ydpi, xdpi
    deadline.check(name, 1)
    yield fit_grey(target, grey, xdpi, ydpi)


def decode_jpeg(image: Image.Image, data: bytes, need: tuple[int, int],
                name: str) -> "tuple[Image.Image | Grey, str]":
    """(grey image at least ``need`` pels, decoder): libjpeg-turbo (``"turbojpeg"``: any of its
    scales down to 1/8 in eighths, straight to grey rows, a :class:`Grey`) for YCbCr, RGB and
    grey JPEGs it decodes without a warning; Pillow (``"pillow"``: draft mode, 1/2, 1/4 or 1/8;
    an "L" image) for the rest (CMYK and YCCK, files libjpeg-turbo complains about, no
    libturbojpeg), whose verdict on damaged files stands."""
    grey = turbojpeg.decode_grey(bytes(data), image.size, need)
    if grey is not None:
        return grey, "turbojpeg"
    try:
        image.draft("L", need)
        return to_grey(image), "pillow"
    except DECODE_ERRORS as exc:
        raise DocumentError(f"{name}: a damaged JPEG image ({_why(exc)})") from None


def as_image(grey: "Image.Image | Grey") -> Image.Image:
    """A Pillow "L" image of grey rows (sharing their memory, read-only), or the image itself."""
    if isinstance(grey, Grey):
        return Image.frombuffer("L", (grey.width, grey.height), grey.pixels, "raw", "L", 0, 1)
    return grey
