"""Helpers for the codec property and corruption tests: pages from boolean arrays, T.4 / T.6
code words written out as bit strings (independent of the codec's own tables), bit-level
splicing of encoded streams, and a watchdog so that a hang in C fails the run instead of
stalling it.

Bit strings are str of '0' / '1' in transmission order; ``pack`` / ``unpack`` convert to
bytes MSB-first (TIFF FillOrder 1) or LSB-first (FillOrder 2, the wire).
"""

from __future__ import annotations

import faulthandler
import os
import re
import time

import numpy as np

from faxpipe.page import Page

# T.4 Table 2/3 (a few runs used to build hostile streams by hand) and Table 4 (2-D modes).
WHITE = {0: "00110101", 1: "000111", 2: "0111", 3: "1000", 4: "1011", 5: "1100", 6: "1110",
         7: "1111", 64: "11011", 128: "10010"}
BLACK = {0: "0000110111", 1: "010", 2: "11", 3: "10", 4: "011", 16: "0000010111",
         64: "0000001111"}
EOL = "000000000001"
PASS, HORIZONTAL, V0 = "0001", "001", "1"
EOFB = EOL + EOL
RTC_MH = EOL * 6
RTC_MR = (EOL + "1") * 6

# How long one test may take (seconds). Sanitizer builds are slower: .ci/sanitize.sh raises it.
TIME_LIMIT = float(os.environ.get("FAXPIPE_TEST_TIME_LIMIT", "2"))
# A hang inside the C decoder cannot be interrupted from Python; the watchdog kills the process.
WATCHDOG = float(os.environ.get("FAXPIPE_TEST_WATCHDOG", "60"))


class Watchdog:
    """Context manager: dump every thread's stack and exit if the body runs longer than WATCHDOG,
    and fail if it ran longer than ``limit``."""

    def __init__(self, limit: float | None = TIME_LIMIT):
        self.limit = limit

    def __enter__(self):
        faulthandler.dump_traceback_later(WATCHDOG, exit=True)
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        faulthandler.cancel_dump_traceback_later()
        elapsed = time.perf_counter() - self.start
        if exc[0] is None and self.limit is not None:
            assert elapsed <= self.limit, f"test took {elapsed:.2f} s, more than {self.limit:g} s"
        return False


def page_from_array(pixels: np.ndarray, yres: float = 196.0) -> Page:
    """A Page from a (height, width) array of booleans, True = black."""
    height, width = pixels.shape
    packed = np.packbits(pixels.astype(np.uint8), axis=1) if height else np.zeros((0, 0), np.uint8)
    return Page(width, height, packed.tobytes(), 204.0, yres)


def page_rows(page: Page) -> list[bytes]:
    return [page.row(y) for y in range(page.height)]


def sub_page(page: Page, rows: int) -> Page:
    """The first ``rows`` rows of a page."""
    return Page(page.width, rows, page.data[: rows * page.stride], page.xres, page.yres)


_REVERSE = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def reverse_bits(data: bytes) -> bytes:
    """Swap the bit order of every byte (FillOrder 1 <-> 2)."""
    return bytes(data).translate(_REVERSE)


def unpack(data: bytes, lsb: bool = False) -> str:
    if lsb:
        data = reverse_bits(data)
    return "".join(f"{b:08b}" for b in data)


def pack(bits: str, lsb: bool = False) -> bytes:
    """Bits to bytes, zero padded at the end."""
    bits += "0" * (-len(bits) % 8)
    data = int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""
    return reverse_bits(data) if lsb else data


def eol_positions(bits: str) -> list[tuple[int, int]]:
    """(start of the zero run, index after the final 1) of every EOL (eleven or more zeros and a
    1) in a bit string. In valid T.4 data no code has more than seven leading zeros, so these are
    exactly the EOLs, fill included."""
    return [(m.start(), m.end()) for m in re.finditer(r"0{11,}1", bits)]


def align_eol(bits: str) -> str:
    """Zero fill so that an EOL appended next ends on a byte boundary (T.4 fill)."""
    return bits + "0" * ((4 - len(bits)) % 8)
