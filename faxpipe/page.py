"""The one in-memory page model: packed 1-bit rows, MSB-first, 1 = black (T.4 §2).

Geometry facts come from T.4 §2.2 (8 pels/mm horizontally: 1728 pels on 215 mm for A4 and
Letter, 2048 for B4, 2432 for A3) and §2.3 (3.85, 7.7 and 15.4 lines/mm vertically).
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

from .errors import CodecError

MAX_WIDTH = 16384
MAX_HEIGHT = 65536


class Resolution(enum.Enum):
    """Vertical fax resolutions (T.4 §2.3); every one is 204 dpi across (8 pels/mm)."""

    STANDARD = (204, 98, 3.85)
    FINE = (204, 196, 7.7)
    SUPERFINE = (204, 391, 15.4)

    def __init__(self, xdpi: int, ydpi: int, lines_per_mm: float):
        self.xdpi = xdpi
        self.ydpi = ydpi
        self.lines_per_mm = lines_per_mm

    @property
    def k(self) -> int:
        """The T.4 §4.2.1 K parameter for MR: 2 at standard, 4 at higher resolutions."""
        return 2 if self is Resolution.STANDARD else 4

    @classmethod
    def parse(cls, value: "Resolution | str") -> "Resolution":
        if isinstance(value, cls):
            return value
        try:
            return cls[str(value).upper()]
        except KeyError:
            raise ValueError(f"unknown resolution {value!r}: use standard, fine or superfine") from None

    @classmethod
    def from_dpi(cls, ydpi: float) -> "Resolution":
        """The resolution nearest to a vertical dpi value (TIFF YResolution)."""
        return _nearest_resolution(ydpi)


@functools.lru_cache(maxsize=64)
def _nearest_resolution(ydpi: float) -> Resolution:
    return min(Resolution, key=lambda r: abs(r.ydpi - ydpi))


class PaperSize(enum.Enum):
    """Paper sizes: scan width in pels (T.4 §2.2) and length, in millimetres or inches.

    Rows follow the fax convention: metric papers take length × 3.85 / 7.7 lines per mm
    (rounded) and superfine twice fine plus one (A4: 1143 / 2287 / 4575); inch papers take
    98 / 196 / 392 lines per inch (Letter: 1078 / 2156 / 4312).
    """

    A4 = (1728, 297.0, "mm")
    LETTER = (1728, 11.0, "in")
    LEGAL = (1728, 14.0, "in")
    B4 = (2048, 364.0, "mm")
    A3 = (2432, 420.0, "mm")

    def __init__(self, width: int, length: float, unit: str):
        self.width = width
        self.length = length
        self.unit = unit

    @property
    def length_mm(self) -> float:
        return self.length * (25.4 if self.unit == "in" else 1.0)

    def rows(self, resolution: "Resolution | str") -> int:
        """Scan lines on this paper at a resolution (A4 fine = 2287)."""
        resolution = Resolution.parse(resolution)
        if self.unit == "in":
            return round(self.length * {Resolution.STANDARD: 98, Resolution.FINE: 196, Resolution.SUPERFINE: 392}[resolution])
        standard, fine = round(self.length * 3.85), round(self.length * 7.7)
        return {Resolution.STANDARD: standard, Resolution.FINE: fine, Resolution.SUPERFINE: 2 * fine + 1}[resolution]

    @classmethod
    def parse(cls, value: "PaperSize | str") -> "PaperSize":
        if isinstance(value, cls):
            return value
        try:
            return cls[str(value).upper()]
        except KeyError:
            raise ValueError(f"unknown paper {value!r}: use a4, letter, legal, b4 or a3") from None


def check_geometry(width: int, height: int) -> None:
    """Refuse absurd page sizes before any memory is allocated for them."""
    if not (1 <= width <= MAX_WIDTH):
        raise CodecError(f"page width {width} is outside 1..{MAX_WIDTH} pels")
    if not (0 <= height <= MAX_HEIGHT):
        raise CodecError(f"page height {height} is outside 0..{MAX_HEIGHT} rows")


@dataclass(frozen=True, eq=False)
class Page:
    """A bilevel page: ``height`` rows of ``stride = ceil(width / 8)`` bytes each.

    Bits are MSB-first within a byte and 1 means black; padding bits after ``width`` are zero.
    """

    width: int
    height: int
    data: bytes
    xres: float = 204.0
    yres: float = 196.0

    def __post_init__(self):
        check_geometry(self.width, self.height)
        if len(self.data) != self.stride * self.height:
            raise CodecError(
                f"page data is {len(self.data)} bytes; {self.width}×{self.height} needs "
                f"{self.stride * self.height}"
            )
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))
        if self.width % 8 and self.height and _padding_set(self):
            object.__setattr__(self, "data", _clear_padding(self))

    @property
    def stride(self) -> int:
        return (self.width + 7) // 8

    @property
    def resolution(self) -> Resolution:
        return Resolution.from_dpi(self.yres)

    @classmethod
    def from_bytes(cls, data: bytes, width: int, height: int, xres: float = 204.0, yres: float = 196.0) -> "Page":
        return cls(width, height, bytes(data), xres, yres)

    @classmethod
    def blank(cls, width: int = 1728, height: int = 2287, xres: float = 204.0, yres: float = 196.0) -> "Page":
        check_geometry(width, height)
        return cls(width, height, bytes(((width + 7) // 8) * height), xres, yres)

    @classmethod
    def from_image(cls, image, xres: float | None = None, yres: float | None = None, threshold: int = 128) -> "Page":
        """From a Pillow image: mode "1" as it is, anything else thresholded on grey."""
        if image.mode != "1":
            grey = image.convert("L")
            image = grey.point(lambda v: 255 if v >= threshold else 0, mode="1")
        dpi = [_snap(v) for v in image.info.get("dpi") or (204.0, 196.0)]
        width, height = image.size
        check_geometry(width, height)
        data = image.tobytes("raw", "1;I")
        return cls(width, height, data, float(xres or dpi[0]), float(yres or dpi[1]))

    def to_image(self, mode: str = "1"):
        """To a Pillow image of mode "1" (or "L"), white = 255 as Pillow expects."""
        from PIL import Image

        image = Image.frombytes("1", (self.width, self.height), self.data, "raw", "1;I")
        image.info["dpi"] = (self.xres, self.yres)
        return image if mode == "1" else image.convert(mode)

    def row(self, y: int) -> bytes:
        return self.data[y * self.stride:(y + 1) * self.stride]

    def black_fraction(self) -> float:
        if not self.height:
            return 0.0
        return int.from_bytes(self.data, "big").bit_count() / (self.width * self.height)

    def __eq__(self, other):
        if not isinstance(other, Page):
            return NotImplemented
        return (self.width, self.height, self.data) == (other.width, other.height, other.data)

    def __repr__(self) -> str:
        return f"Page({self.width}×{self.height}, {self.xres:g}×{self.yres:g} dpi)"


def _snap(dpi: float) -> float:
    """Undo the rounding of formats that store dots per metre (PNG: 204 dpi reads as 203.987)."""
    whole = round(float(dpi))
    return float(whole) if abs(float(dpi) - whole) < 0.05 else float(dpi)


def _padding_mask(width: int) -> int:
    return (0xFF << (8 - width % 8)) & 0xFF


def _padding_set(page: Page) -> bool:
    mask = _padding_mask(page.width)
    return any(b & ~mask & 0xFF for b in page.data[page.stride - 1::page.stride])


def _clear_padding(page: Page) -> bytes:
    mask = _padding_mask(page.width)
    data = bytearray(page.data)
    last = page.stride - 1
    data[last::page.stride] = bytes(b & mask for b in data[last::page.stride])
    return bytes(data)
