"""Fitting content onto a fax page (T.4 §2.2 scan widths, §2.3 line densities; DESIGN.md
"Fax page facts"): scale to the paper keeping the aspect ratio on the page as printed, turn
landscape content to portrait when that makes it larger, keep a band at the top free for the
header line, and centre what is left."""

from __future__ import annotations

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


def _filter(old: tuple[int, int], new: tuple[int, int]) -> Image.Resampling:
    """Box (area average) when shrinking: as sharp as Lanczos once thresholded and four times
    faster on a 12-megapixel photo; bicubic when enlarging."""
    shrinking = new[0] <= old[0] and new[1] <= old[1]
    return Image.Resampling.BOX if shrinking else Image.Resampling.BICUBIC


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
