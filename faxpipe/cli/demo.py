"""``faxpipe demo``: the main job on the embedded default, no hardware, no server.

For now: the fixture pages go through the codec into one TIFF Class F file per compression,
each file is read back and compared pel for pel with what went in, and a preview PNG shows the
pages as the recipient would see them.
"""

from __future__ import annotations

import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pages"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="convert the fixture pages to TIFF-F and write a preview")
    p.add_argument("-o", "--out-dir", default="demo-out", help="where to write (default: ./demo-out)")
    p.add_argument("--fixtures", default=str(FIXTURES), help="a directory of page images (PNG)")
    p.set_defaults(run=run)


def run(args) -> int:
    from PIL import Image

    from .. import tiff
    from ..errors import FaxpipeError
    from ..page import Page
    from ..preview import contact_sheet

    sources = sorted(Path(args.fixtures).glob("*.png"))
    if not sources:
        raise FaxpipeError(f"no fixture pages (*.png) in {args.fixtures}", code="fx_file_invalid")
    pages = [Page.from_image(Image.open(path)) for path in sources]
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{len(pages)} fixture pages: {', '.join(p.name for p in sources)}")
    for compression in ("g4", "g3-2d", "g3-1d"):
        target = out / f"fixtures-{compression}.tif"
        start = time.perf_counter()
        tiff.write(target, pages, compression=compression)
        elapsed = time.perf_counter() - start
        back = [tp.page for tp in tiff.read(target)]
        if back != pages:
            raise FaxpipeError(f"{target} does not read back to the pages written", code="internal_server_error")
        print(f"  {target}  {target.stat().st_size:>8,} bytes  {elapsed * 1000:6.1f} ms  read back: identical")
    sheet = out / "preview.png"
    contact_sheet(back).save(sheet)
    print(f"  {sheet}  (the pages as the recipient sees them)")
    return 0
