"""Write the seed corpus of fuzz/fuzz_decode.c: encoded pages of every scheme and option, some
hostile streams, and a few bitmaps for the round-trip mode.

    python fuzz/make_corpus.py DIR

Each file is the 6-byte header fuzz_decode.c documents, then the payload. Needs the built
extension (python setup.py build_ext --inplace).
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faxpipe.codec import encode  # noqa: E402
from faxpipe.page import Page  # noqa: E402

SCHEME = {"mh": 0, "mr": 1, "mmr": 2}


def header(scheme: str, width: int, *, lsb=False, byte_align=False, round_trip=False, eol=True,
           fill=False, rtc=True, byte3=0xFF, byte4=0) -> bytes:
    flags = (SCHEME[scheme] | lsb << 2 | byte_align << 3 | round_trip << 4 | eol << 5
             | fill << 6 | rtc << 7)
    return struct.pack("<BHBBB", flags, (width - 1) % (16384 if not round_trip else 3000),
                       byte3, byte4, 0)


def page(width: int, height: int, seed: int) -> Page:
    """Text-like rows: short random runs on a white background, some rows blank."""
    rng = np.random.default_rng(seed)
    pixels = np.zeros((height, width), bool)
    for y in range(height):
        if rng.random() < 0.3:
            continue
        x = int(rng.integers(0, 20))
        while x < width:
            n = int(rng.geometric(0.3))
            pixels[y, x:x + n] = True
            x += n + int(rng.geometric(0.1))
    return Page(width, height, np.packbits(pixels, axis=1).tobytes())


def dithered(width: int, height: int, seed: int) -> Page:
    """Random pels on a grey ramp: busy rows, which the decoder sends to its tables."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.2, 0.8, width)[None, :]
    pixels = rng.random((height, width)) < ramp
    return Page(width, height, np.packbits(pixels, axis=1).tobytes())


def seeds():
    pages = [page(1728, 12, 1), page(37, 6, 2), page(2600, 3, 3), page(1, 4, 4), page(200, 0, 5),
             dithered(300, 48, 7), dithered(64, 40, 8)]
    for p in pages:
        for scheme in SCHEME:
            for lsb in (False, True):
                yield header(scheme, p.width, lsb=lsb) + encode(p, scheme, bit_order="lsb" if lsb else "msb")
            yield header(scheme, p.width) + encode(p, scheme, fill=True, min_bits=200, k=3)
            yield header(scheme, p.width) + encode(p, scheme, rtc=False)
        yield header("mh", p.width, eol=False) + encode(p, "mh", eol=False)
        yield header("mh", p.width, byte_align=True) + encode(p, "mh", eol=False, rtc=False, byte_align=True)
        yield header("mmr", p.width, byte_align=True) + encode(p, "mmr", rtc=False, byte_align=True)
    eol = "000000000001"
    for scheme in SCHEME:
        yield header(scheme, 1728) + bytes(64)
        yield header(scheme, 9) + b"\xff" * 64
        yield header(scheme, 1728) + bytes.fromhex("0001" * 32)  # EOLs with fill
    bits = (eol + "1") * 12
    yield header("mr", 40) + int(bits, 2).to_bytes(len(bits) // 8 + 1, "big")
    # round trips: raw bitmaps
    rng = np.random.default_rng(6)
    for scheme in SCHEME:
        for width in (1, 9, 64, 1728):
            stride = (width + 7) // 8
            bitmap = rng.integers(0, 256, stride * 5, dtype=np.uint8).tobytes()
            yield header(scheme, width, round_trip=True, byte3=2, byte4=25) + bitmap
            yield header(scheme, width, round_trip=True, fill=True, rtc=False) + bytes(stride * 3)


def main(argv):
    out = Path(argv[1] if len(argv) > 1 else "fuzz/corpus")
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for data in seeds():
        (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
        count += 1
    print(f"{count} seeds in {out}")


if __name__ == "__main__":
    main(sys.argv)
