"""``faxpipe demo``: the main job end to end on the embedded default, no hardware, no server.

Documents of every accepted kind (PDF, JPEG, TIFF, text, from fixtures/) are converted
into fax pages, encoded into TIFF Class F with each compression, read back and compared pel for
pel, and drawn on a preview sheet as the recipient would see them. Later steps of the pipeline
(a call through the software modem) join here as they land.
"""

from __future__ import annotations

import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DEFAULT_INPUTS = ("pages/letter.pdf", "pages/chart.tif", "documents/photo.jpg", "documents/utf8.txt")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="convert sample documents to TIFF-F, check them, write a preview")
    p.add_argument("inputs", nargs="*", help=f"documents (default: {', '.join(DEFAULT_INPUTS)} from fixtures/)")
    p.add_argument("-o", "--out-dir", default="demo-out", help="where to write (default: ./demo-out)")
    p.add_argument("--resolution", default="fine", choices=["standard", "fine", "superfine"])
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import tiff
    from ..errors import FaxpipeError
    from ..normalize import convert
    from ..preview import contact_sheet

    inputs = [Path(p) for p in args.inputs] or [FIXTURES / name for name in DEFAULT_INPUTS]
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    pages = list(convert([str(p) for p in inputs], resolution=args.resolution).pages)
    print(f"converted {len(inputs)} documents into {len(pages)} fax pages "
          f"({pages[0].width}×{pages[0].height}, {args.resolution}) in {(time.perf_counter() - start) * 1000:.0f} ms")
    for p in inputs:
        print(f"  {p}")
    for compression in ("g4", "g3-2d", "g3-1d"):
        target = out / f"demo-{compression}.tif"
        start = time.perf_counter()
        tiff.write(target, pages, compression=compression)
        elapsed = time.perf_counter() - start
        back = [tp.page for tp in tiff.read(target)]
        if back != pages:
            raise FaxpipeError(f"{target} does not read back to the pages written")
        print(f"  {target}  {target.stat().st_size:>9,} bytes  encoded in {elapsed * 1000:5.1f} ms, read back identical")
    sheet = out / "preview.png"
    contact_sheet(pages).save(sheet)
    print(f"  {sheet}  (the pages as the recipient sees them)")
    return 0
