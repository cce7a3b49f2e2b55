"""Document → TIFF-F: faxpipe against Ghostscript (``gs -sDEVICE=tiffg4 -r204x196``), one run.

    python bench/convert.py [--repeat N] [--docs 7] [--pages 8] [--letters 5] [--jobs 2]

Inputs are made on the spot (tests/documents.py): ``docs`` A4 text PDFs of ``pages`` pages of
10.5 pt Times prose, ``letters`` one-page business letters (reportlab), and a 12-megapixel
(3000×4000) colour JPEG (Pillow). Every case ends in TIFF-F bytes, fine resolution, A4, G4:

* faxpipe: ``faxpipe.convert([path])`` then ``faxpipe.tiff.to_bytes(pages, "g4")``, in-process;
* Ghostscript: a ``gs`` process per document (what a caller of gs pays), output to a file;
* the JPEG's anchor is Pillow (decode, grey, LANCZOS resize, Floyd–Steinberg, G4 save), as in
  reference/performance.md; Ghostscript does not read JPEG.

faxpipe and its anchor alternate within each repetition; medians are reported, per page, with
ratio = faxpipe / anchor (targets: ≤ 0.5 on text PDFs, ≤ 0.25 on one-page letters, ≤ 80 ms
for the JPEG). The batch line runs ``faxpipe convert --out-dir`` (faxpipe.cli.convert.run_batch)
on all PDFs with 1 and with ``jobs`` processes (pool start-up included) and ``gs`` on the same
files with ``jobs`` processes side by side, in pages per second (medians of ``repeat`` runs).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import documents  # noqa: E402

import faxpipe  # noqa: E402
from faxpipe import tiff  # noqa: E402
from faxpipe.cli.convert import Options, run_batch  # noqa: E402

GS = shutil.which("gs")


def faxpipe_tiff(path: str) -> tuple[bytes, int]:
    document = faxpipe.convert([path], resolution="fine", paper="a4")
    pages = list(getattr(document, "pages", document))
    return tiff.to_bytes(pages, "g4"), len(pages)


def gs_tiff(path: str, out: str) -> None:
    subprocess.run([GS, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=tiffg4", "-r204x196",
                    "-sPAPERSIZE=a4", f"-sOutputFile={out}", path], check=True, capture_output=True)


def pillow_jpeg(path: str) -> bytes:
    """The performance.md anchor: decode, grey, LANCZOS to A4 fine, Floyd–Steinberg, G4."""
    from PIL import Image

    image = Image.open(path).convert("L")
    scale = min(1728 / image.width, 2287 * 204 / 196 / image.height)
    size = (round(image.width * scale), round(image.height * scale * 196 / 204))
    bilevel = image.resize(size, Image.Resampling.LANCZOS).convert("1")
    out = io.BytesIO()
    bilevel.save(out, "TIFF", compression="group4", dpi=(204, 196))
    return out.getvalue()


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def median_ms(values: list[float], per: int = 1) -> float:
    return statistics.median(values) * 1000 / per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--docs", type=int, default=7)
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--letters", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    if GS is None:
        sys.exit("bench/convert.py needs Ghostscript (Debian: ghostscript)")
    work = tempfile.mkdtemp(prefix="faxpipe-bench-")
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, work: str) -> None:
    texts, letters = [], []
    for i in range(args.docs):
        path = os.path.join(work, f"text{i}.pdf")
        with open(path, "wb") as f:
            f.write(documents.text_pdf(args.pages, seed=100 + i)[0])
        texts.append(path)
    for i in range(args.letters):
        path = os.path.join(work, f"letter{i}.pdf")
        with open(path, "wb") as f:
            f.write(documents.letter_pdf(seed=200 + i))
        letters.append(path)
    jpeg = os.path.join(work, "photo.jpg")
    with open(jpeg, "wb") as f:
        f.write(documents.photo_jpeg(3000, 4000))
    out = os.path.join(work, "gs.tif")

    for path in texts[:1] + letters[:1] + [jpeg]:  # warm up: imports, fonts, caches
        faxpipe_tiff(path)
    gs_tiff(letters[0], out)

    rows = []
    for label, files, pages_each in (("text PDFs", texts, args.pages), ("1-page letters", letters, 1)):
        fx, gs = [], []
        for _ in range(args.repeat):
            for path in files:
                fx.append(timed(faxpipe_tiff, path))
                gs.append(timed(gs_tiff, path, out))
        rows.append((f"{label} ({len(files)} × {pages_each} p)", median_ms(fx, pages_each), median_ms(gs, pages_each), "gs"))
    fx, anchor = [], []
    for _ in range(args.repeat):
        fx.append(timed(faxpipe_tiff, jpeg))
        anchor.append(timed(pillow_jpeg, jpeg))
    rows.append(("JPEG 3000×4000 (12 MP)", median_ms(fx), median_ms(anchor), "Pillow FS + G4"))

    print("| input | faxpipe ms/page | anchor ms/page | anchor | ratio |")
    print("|---|--:|--:|---|--:|")
    for label, f, a, name in rows:
        print(f"| {label} | {f:.1f} | {a:.1f} | {name} | {f / a:.2f}× |")

    pdfs = texts + letters
    total_pages = args.docs * args.pages + args.letters
    options = Options()
    times: dict[str, list[float]] = {}
    for _ in range(args.repeat):  # interleaved; the median of each
        for jobs in (1, args.jobs):
            start = time.perf_counter()
            results = run_batch(pdfs, os.path.join(work, f"batch{jobs}"), options, jobs)
            times.setdefault(f"faxpipe --jobs {jobs}", []).append(time.perf_counter() - start)
            assert all(r.ok for r in results), [r for r in results if not r.ok]
        start = time.perf_counter()
        with ThreadPoolExecutor(args.jobs) as pool:  # threads only wait: each gs is its own process
            list(pool.map(lambda p: gs_tiff(p, p + ".gs.tif"), pdfs))
        times.setdefault(f"gs, {args.jobs} processes", []).append(time.perf_counter() - start)
    rates = {k: total_pages / statistics.median(v) for k, v in times.items()}
    print()
    print(f"batch of {len(pdfs)} PDFs, {total_pages} pages: " + ", ".join(f"{k} {v:.1f} pages/s" for k, v in rates.items())
          + f"; faxpipe {args.jobs} jobs / 1 job = {rates[f'faxpipe --jobs {args.jobs}'] / rates['faxpipe --jobs 1']:.2f}×")


if __name__ == "__main__":
    main()
