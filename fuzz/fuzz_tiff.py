"""atheris target for the TIFF Class F reader (faxpipe/tiff.py).

    python fuzz/fuzz_tiff.py [libFuzzer flags] CORPUS_DIR

Any bytes either read as pages or raise CodecError (NotFaxTiff included); every page read is
consistent (geometry, bad-row count) and survives a write / read round trip with the same
pixels. Anything else — another exception, a hang (-timeout), memory past -rss_limit_mb — is a
finding. When CORPUS_DIR is missing or empty it is seeded with TIFFs written by faxpipe itself
(every compression, both fill orders and byte orders) and by Pillow (libtiff: G3, G4,
uncompressed, several strips).
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports(include=["faxpipe"]):
    from faxpipe import tiff
    from faxpipe.errors import CodecError
    from faxpipe.page import Page

MAX_ROUND_TRIP_BYTES = 1 << 20  # re-encode pages up to this many pixel bytes


def test_one_input(data: bytes) -> None:
    try:
        pages = tiff.from_bytes(data)
    except CodecError:
        return
    assert pages, "from_bytes returned no page without raising"
    for tp in pages:
        page = tp.page
        assert 1 <= page.width and 0 <= page.height, page
        assert len(page.data) == page.stride * page.height
        assert 0 <= tp.bad_rows <= page.height, (tp.bad_rows, page.height)
    fit = [tp.page for tp in pages if tp.page.height and len(tp.page.data) <= MAX_ROUND_TRIP_BYTES]
    if fit:
        again = tiff.from_bytes(tiff.to_bytes(fit))
        assert [tp.page for tp in again] == fit, "write / read round trip changed the pixels"
        assert all(tp.bad_rows == 0 for tp in again)


def seeds():
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(11)
    pixels = rng.random((40, 203)) < 0.2
    pixels[10:20] = False
    page = Page(203, 40, np.packbits(pixels, axis=1).tobytes(), 204.0, 98.0)
    small = Page(9, 3, bytes([0x01, 0x80]) * 3)
    for compression in tiff.COMPRESSIONS:
        for fill_order in (1, 2):
            for byte_order in ("II", "MM"):
                yield tiff.to_bytes([page, small], compression, fill_order=fill_order,
                                    byte_order=byte_order)
    image = page.to_image()
    for compression in ("group3", "group4", "tiff_ccitt", "raw"):
        for kwargs in ({}, {"rows_per_strip": 7} if compression != "tiff_ccitt" else {}):
            out = io.BytesIO()
            try:
                image.save(out, "TIFF", compression=compression, dpi=(204, 196), **kwargs)
            except (OSError, ValueError, TypeError):
                continue
            yield out.getvalue()


def make_corpus(directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for data in seeds():
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)
        count += 1
    return count


def main(argv: list[str]) -> None:
    dirs = [Path(a) for a in argv[1:] if not a.startswith("-")]
    if dirs and (not dirs[0].exists() or not any(dirs[0].iterdir())):
        print(f"fuzz_tiff: {make_corpus(dirs[0])} seeds in {dirs[0]}", file=sys.stderr)
    if not any(a.startswith("-max_len") for a in argv):
        argv = argv + ["-max_len=8192"]
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main(sys.argv)
