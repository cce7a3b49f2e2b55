"""Fitting content onto a fax page (T.4 §2.2 scan widths, §2.3 line densities; DESIGN.md
"Fax page facts"): scale to the paper keeping the aspect ratio on the page as printed, turn
landscape content to portrait when that makes it larger, keep a band at the top free for the
header line, and centre what is left."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PIL import Image

from ..page import PaperSize, Resolution


@dataclass(frozen=True)
class Target:
    """The page every source is fitted to: paper, resolution, rows kept free for a header."""

    paper: PaperSize
    resolution: Resolution
    header_rows: int = 0

    @property
    def width(self) -> int:
        return self.paper.width

    @property
    def rows(self) -> int:
        return self.paper.rows(self.resolution)

    @property
    def xdpi(self) -> int:
        return self.resolution.xdpi

    @property
    def ydpi(self) -> int:
        return self.resolution.ydpi


@dataclass(frozen=True)
class Grey:
    """A grey fax page as raw 8-bit rows, ``width`` bytes each (what PDFium renders into):
    handed to the bilevel converter without a copy."""

    pixels: bytearray
    width: int
    height: int


@dataclass(frozen=True)
class Placement:
    """Where content goes on the page: its rectangle in pels and rows, and whether it is turned
    a quarter anticlockwise first (then ``width``/``height`` are those of the turned content)."""

    x: int
    y: int
    width: int
    height: int
    rotate: bool


def place(target: Target, width_in: float, height_in: float) -> Placement:
    """Fit content of a physical size (inches; only the ratio matters) into the page below the
    header band, scaled up or down, turned when turning makes it larger."""
    if not (width_in > 0 and height_in > 0):
        raise ValueError(f"content size {width_in}×{height_in} must be positive")
    box_w, box_h = target.width, target.rows - target.header_rows
    upright = min(box_w / (width_in * target.xdpi), box_h / (height_in * target.ydpi))
    turned = min(box_w / (height_in * target.xdpi), box_h / (width_in * target.ydpi))
    rotate = turned > upright * 1.0001
    scale = turned if rotate else upright
    w_in, h_in = (height_in, width_in) if rotate else (width_in, height_in)
    width = max(1, min(box_w, round(w_in * target.xdpi * scale)))
    height = max(1, min(box_h, round(h_in * target.ydpi * scale)))
    x = (box_w - width) // 2
    y = target.header_rows + (box_h - height) // 2
    return Placement(x, y, width, height, rotate)


def blank(target: Target) -> Image.Image:
    return Image.new("L", (target.width, target.rows), 255)


def fit_image(target: Target, image: Image.Image, xdpi: float | None = None,
              ydpi: float | None = None) -> Image.Image:
    """A grey page with ``image`` (mode "L") fitted onto it. Without a resolution the image's
    pixels are taken as square."""
    xdpi = xdpi or 1.0
    ydpi = ydpi or xdpi
    where = place(target, image.width / xdpi, image.height / ydpi)
    size = (where.height, where.width) if where.rotate else (where.width, where.height)
    if image.size != size:
        image = image.resize(size, _filter(image.size, size))
    if where.rotate:
        image = image.transpose(Image.Transpose.ROTATE_90)
    page = blank(target)
    page.paste(image, (where.x, where.y))
    return page


def fit_grey(target: Target, image: "Image.Image | Grey", xdpi: float | None = None,
             ydpi: float | None = None) -> "Grey | Image.Image":
    """:func:`fit_image` for an "L" image or grey rows, made faster where it costs most: content
    shrunk by less than 2× on both axes, upright (a JPEG decoded at 5/8 of its size, say), is
    resampled by the codec's C triangle filter (the filter :func:`_filter` picks there; a pel
    may differ from Pillow's by a grey level) in two bands at once, straight into the rows of
    the page, which is returned as :class:`Grey`. Anything else goes through :func:`fit_image`."""
    width, height = (image.width, image.height)
    where = shrink_placement(target, width, height, xdpi, ydpi)
    if where is None or (isinstance(image, Image.Image) and image.mode != "L"):
        if isinstance(image, Grey):
            image = Image.frombuffer("L", (width, height), image.pixels, "raw", "L", 0, 1)
        return fit_image(target, image, xdpi, ydpi)
    from ..codec import _bilevel

    page = blank_rows(target)
    source = image.pixels if isinstance(image, Grey) else image.tobytes()
    offset = where.y * target.width + where.x
    cut = where.height // 2 if where.width * where.height >= SPLIT_PELS else 0

    def band(y0: int, y1: int) -> None:
        _bilevel.shrink(source, width, height, width, page, offset, target.width, where.width,
                        where.height, y0, y1)

    if cut:
        errors: list = []
        helper = threading.Thread(target=lambda: _run(band, errors, 0, cut),
                                  name="faxpipe-resample", daemon=True)
        helper.start()
        try:
            band(cut, where.height)
        finally:
            helper.join()
        if errors:
            raise errors[0]
    else:
        band(0, where.height)
    return Grey(page, target.width, target.rows)


SPLIT_PELS = 1_000_000  # a page area this large is resampled in two bands at once


def shrink_placement(target: Target, width: int, height: int, xdpi: float | None = None,
                     ydpi: float | None = None) -> Placement | None:
    """Where ``width``×``height`` grey content goes on the page when :func:`fit_grey` would
    shrink it with the C triangle filter (shrunk by less than 2× on both axes, not turned);
    None when it would go through :func:`fit_image` instead."""
    xdpi = xdpi or 1.0
    ydpi = ydpi or xdpi
    where = place(target, width / xdpi, height / ydpi)
    size = (where.width, where.height)
    if (where.rotate or (width, height) == size
            or _filter((width, height), size) != Image.Resampling.BILINEAR):
        return None
    return where


def blank_rows(target: Target) -> bytearray:
    """The page's grey rows, all white."""
    return bytearray(b"\xff") * (target.width * target.rows)


def _run(fn, errors: list, *args) -> None:
    try:
        fn(*args)
    except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
        errors.append(exc)


def _filter(old: tuple[int, int], new: tuple[int, int]) -> Image.Resampling:
    """Shrinking by 2× or more: box (area average), as sharp as Lanczos once thresholded and
    four times faster on a 12-megapixel photo. Shrinking by less (a JPEG decoded at 5/8, say):
    bilinear, a triangle one source pel wide or more; a box that narrow copies some source pels
    and averages others, so the strokes of thresholded text beat between bold and thin.
    Enlarging: bicubic."""
    if new[0] > old[0] or new[1] > old[1]:
        return Image.Resampling.BICUBIC
    if 2 * new[0] <= old[0] and 2 * new[1] <= old[1]:
        return Image.Resampling.BOX
    return Image.Resampling.BILINEAR


def needed_scale(target: Target, width: int, height: int, xdpi: float | None = None,
                 ydpi: float | None = None) -> float:
    """The smallest fraction of a ``width``×``height`` image that still holds every pel the
    fitted page will have (for decoding a JPEG at a reduced scale): the larger axis scale."""
    xdpi = xdpi or 1.0
    ydpi = ydpi or xdpi
    where = place(target, width / xdpi, height / ydpi)
    w, h = (where.height, where.width) if where.rotate else (where.width, where.height)
    return max(w / width, h / height)


def fits(target: Target, width: int, height: int, xdpi: float, ydpi: float) -> bool:
    """Whether a bilevel page can be sent as it is: the paper's scan width at 204 dpi across,
    the target's line density, and no longer than the paper (3 % slack, as Ghostscript's A4
    pages are 1728 × 2292 at fine)."""
    return (width == target.width and abs(xdpi - target.xdpi) <= 4
            and abs(ydpi - target.ydpi) <= 0.03 * target.ydpi and 1 <= height <= target.rows * 1.03
            and target.header_rows == 0)
