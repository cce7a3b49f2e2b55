"""TIFF sources: fax pages (read by :mod:`faxpipe.tiff`, RFC 2306) are kept as they are when
their geometry fits the target; every other TIFF (colour, grey, 16-bit, CMYK, palette, tiled,
JPEG / LZW / Deflate / PackBits, multi-page: TIFF 6.0 as libtiff reads it, through Pillow) is
converted to grey and fitted like any image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from PIL import Image

from .. import tiff as faxtiff
from ..errors import CodecError, DocumentError
from ..page import Page
from .geometry import Target, fit_image, fits
from .image import DECODE_ERRORS, check_pixels, dpi_of, open_image, orientation_of, to_grey, upright
from .limits import Deadline, Limits


@dataclass
class TiffSource:
    """A TIFF opened for conversion: its page count, and the fax pages when it is a fax TIFF."""

    count: int
    fax_pages: list | None       # faxpipe.tiff.TiffPage list, or None for the Pillow path
    image: Image.Image | None


def open_tiff(data: bytes, name: str, limits: Limits) -> TiffSource:
    try:
        pages = faxtiff.from_bytes(data)
        return TiffSource(len(pages), pages, None)
    except faxtiff.NotFaxTiff:
        pass
    except CodecError as exc:
        raise DocumentError(f"{name}: a damaged TIFF file ({exc.reason})") from None
    image = open_image(data, name, limits, "TIFF image")
    try:
        count = getattr(image, "n_frames", 1)
    except DECODE_ERRORS as exc:
        raise DocumentError(f"{name}: a damaged TIFF file ({exc})") from None
    if count > limits.max_pages:
        raise DocumentError(f"{name}: {count} pages, more than the {limits.max_pages} allowed")
    return TiffSource(count, None, image)


def pages(source: TiffSource, name: str, target: Target, limits: Limits) -> Iterator[Image.Image | Page]:
    """Fax pages that fit as :class:`Page` (sent unchanged), everything else as grey pages."""
    if source.fax_pages is not None:
        for tp in source.fax_pages:
            page = tp.page
            if fits(target, page.width, page.height, page.xres, page.yres):
                yield Page(page.width, page.height, page.data, target.xdpi, target.ydpi)
            else:
                yield fit_image(target, page.to_image("L"), page.xres, page.yres)
        return
    image = source.image
    for index in range(source.count):
        deadline = Deadline(limits.page_seconds)
        try:
            image.seek(index)
            check_pixels(image, name, limits, index + 1)
            xdpi, ydpi = dpi_of(image)
            if image.mode == "1" and xdpi and ydpi and fits(target, image.width, image.height, xdpi, ydpi):
                yield Page.from_image(image, target.xdpi, target.ydpi)
                continue
            orientation = orientation_of(image)
            grey = upright(to_grey(image), orientation)
        except DECODE_ERRORS as exc:
            raise DocumentError(f"{name}: page {index + 1} of the TIFF file cannot be decoded "
                                f"({str(exc)[:160] or type(exc).__name__})") from None
        if orientation in (5, 6, 7, 8):
            xdpi, ydpi = ydpi, xdpi
        deadline.check(name, index + 1)
        yield fit_image(target, grey, xdpi, ydpi)


