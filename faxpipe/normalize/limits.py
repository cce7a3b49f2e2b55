"""Bounds on what one conversion may cost (api-contract.md: size / page limits, decompression
bombs, a pathological page may not hang the job)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..errors import DocumentError


@dataclass(frozen=True)
class Limits:
    """max_bytes: one source file; max_pages: one document, all sources together;
    max_pixels: one decoded image (before scaling); page_seconds: rendering one page."""

    max_bytes: int = 64 << 20
    max_pages: int = 5000
    max_pixels: int = 150_000_000
    page_seconds: float = 30.0


DEFAULT = Limits()


class Deadline:
    """A per-page time limit: ``expired()`` is cheap enough to poll from a render callback."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def expired(self) -> bool:
        return time.monotonic() > self.end

    def check(self, name: str, number: int) -> None:
        if self.expired():
            raise timeout(name, number, self.seconds)


def timeout(name: str, number: int, seconds: float) -> DocumentError:
    return DocumentError(f"{name}: page {number} took longer than {seconds:g} s to render")
