"""Codec benchmark: faxpipe's C codec against libtiff's tif_fax3.c, side by side in one run.

    python bench/codec.py [--quick] [--repeat N] [--pages text,photo] [--res fine] [--write]

For every page × resolution × scheme (MH, MR, MMR) it encodes and decodes with faxpipe and with
libtiff (Debian's libtiff.so.6 through ctypes, tests/libtiff.py), interleaved, and prints the
median times, the speed-up (libtiff time / faxpipe time), the bytes each produced and whether
faxpipe's stream is byte-identical to libtiff's.

What is timed:
* faxpipe encode: ``faxpipe.codec.encode(page, scheme)`` (defaults: EOL, RTC / EOFB, MSB-first;
  MR K from the page's resolution), Python call overhead included.
* libtiff encode: ``TIFFWriteEncodedStrip`` of the whole page into a prepared one-strip TIFF
  (Compression 3 with FAXMODE_CLASSIC so that it writes RTC, or 4), with a write buffer big enough
  that no I/O happens inside the clock; TIFF creation and the RTC that libtiff writes later,
  when the directory is written, are outside it (see tests/libtiff.py, EncodeJob).
* faxpipe decode: ``faxpipe.codec.decode_into(data, scheme, out, width, height=...)`` of
  libtiff's stream into a preallocated buffer, Python call overhead included (the height is what
  libtiff gets from ImageLength).
* libtiff decode: ``TIFFReadEncodedStrip`` of the same stream from a memory-mapped TIFF into a
  preallocated buffer (DecodeJob).
Both decoders get the same bytes, into a buffer cleared just before the clock starts, and their
pixels are checked against the page. The column "→ Page" times ``faxpipe.codec.decode`` as well,
which allocates the rows of a new Page each call (and so, for a big page, faults its memory in).

How it is sampled: cell after cell, each cell's runs back to back, faxpipe and libtiff taking
turns (which goes first alternates), after one untimed round. A sample is the mean of as many
runs as make some 2 ms of faxpipe's encode: one for most pages, up to 50 for the white page,
whose cells take microseconds. So both codecs find the page, the stream and the output buffer
in the caches, as the pipeline leaves them (a page is encoded right after it is rendered).
``--round-robin`` instead takes one sample (one run) of every cell per round, so that the other
pages push each cell's data out of the caches between its samples: then the white page's cells
measure mostly the memory, for both codecs alike.

"identical" is "yes" when the streams are the same byte for byte, "body" when they differ only
in the RTC (both are identical when produced without RTC), else the first differing byte.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests"), HERE]

import libtiff  # noqa: E402  (tests/libtiff.py)
import pages  # noqa: E402  (bench/pages.py)

from faxpipe import codec  # noqa: E402

SCHEMES = ("mh", "mr", "mmr")
RESOLUTIONS = ("fine", "standard")


def first_difference(a: bytes, b: bytes) -> int | None:
    if a == b:
        return None
    n = min(len(a), len(b))
    for i in range(0, n, 4096):
        end = min(i + 4096, n)
        if a[i:end] != b[i:end]:
            return next(j for j in range(i, end) if a[j] != b[j])
    return n


class Cell:
    """One page × resolution × scheme: prepared jobs and the samples measured so far."""

    def __init__(self, name: str, res: str, scheme: str):
        self.name, self.res, self.scheme = name, res, scheme
        self.page = page = pages.page(name, res)
        self.layout = libtiff.layout_for(scheme, page.width, page.height, yres=page.yres)
        self.encoder = libtiff.EncodeJob(page, self.layout)
        self.lt_bytes = self.encoder.run().data
        self.fp_bytes = codec.encode(page, scheme)
        self.identical = self._identity()
        self.samples = {"fp_enc": [], "lt_enc": [], "fp_dec": [], "lt_dec": [], "fp_page": []}
        self.inner = 1   # runs per sample (settle)
        self.lt_decode_error = None
        self.decoder = libtiff.DecodeJob(self.lt_bytes, self.layout)
        try:
            result = self.decoder.run()
            if result.data != page.data:
                self.lt_decode_error = "libtiff decodes wrong pixels"
        except libtiff.LibTiffError as exc:
            self.lt_decode_error = f"libtiff fails ({exc.messages[0] if exc.messages else exc})"
        got = codec.decode(self.lt_bytes, scheme, page.width, height=page.height).page
        self.zeros = bytes(len(page.data))
        self.out = bytearray(self.zeros)
        codec.decode_into(self.lt_bytes, scheme, self.out, page.width, height=page.height)
        self.fp_decode_ok = got == page and self.out == page.data
        if self.lt_decode_error:
            self.decoder.close()
            self.decoder = None

    def _identity(self) -> str:
        where = first_difference(self.lt_bytes, self.fp_bytes)
        if where is None:
            return "yes"
        if self.scheme != "mmr":
            bare_lt = libtiff.encode(self.page, self.scheme, rtc=False)
            bare_fp = codec.encode(self.page, self.scheme, rtc=False)
            if bare_lt == bare_fp:
                return "body"
        return f"NO @{where}"

    def measure(self, flip: bool, record: bool = True) -> None:
        """One sample of each operation: the mean of ``self.inner`` runs back to back."""
        page, scheme, data, inner = self.page, self.scheme, self.lt_bytes, self.inner
        samples = self.samples if record else {k: [] for k in self.samples}

        def fp_enc():
            start = time.perf_counter()
            for _ in range(inner):
                codec.encode(page, scheme)
            samples["fp_enc"].append((time.perf_counter() - start) / inner)

        def lt_enc():
            total = sum(self.encoder.run(read_back=False).seconds for _ in range(inner))
            samples["lt_enc"].append(total / inner)

        def fp_dec():
            into = whole = 0.0
            for _ in range(inner):
                self.out[:] = self.zeros
                start = time.perf_counter()
                codec.decode_into(data, scheme, self.out, page.width, height=page.height)
                into += time.perf_counter() - start
                start = time.perf_counter()
                codec.decode(data, scheme, page.width, height=page.height)
                whole += time.perf_counter() - start
            samples["fp_dec"].append(into / inner)
            samples["fp_page"].append(whole / inner)

        def lt_dec():
            if self.decoder is not None:
                total = sum(self.decoder.run().seconds for _ in range(inner))
                samples["lt_dec"].append(total / inner)

        order = [fp_enc, lt_enc, fp_dec, lt_dec]
        if flip:
            order = [lt_enc, fp_enc, lt_dec, fp_dec]
        for step in order:
            step()

    def settle(self) -> None:
        """The untimed round; it also sets how many runs make a sample: enough for some 2 ms of
        faxpipe's encode, so that the white page's cells of microseconds are not one timer
        reading each."""
        self.inner = 1
        start = time.perf_counter()
        codec.encode(self.page, self.scheme)
        once = time.perf_counter() - start
        self.inner = max(1, min(50, int(0.002 / max(once, 1e-6))))
        self.measure(flip=True, record=False)

    def median_ms(self, key: str) -> float | None:
        values = self.samples[key]
        return statistics.median(values) * 1e3 if values else None


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 10 else f"{ms:.1f}"


def fmt_ratio(lt: float | None, fp: float | None) -> str:
    if lt is None or fp is None or fp == 0:
        return "—"
    return f"{lt / fp:.2f}×"


def table(cells: list[Cell]) -> list[str]:
    lines = [
        "| page | res | scheme | enc faxpipe ms | enc libtiff ms | enc speed-up | dec faxpipe ms "
        "| dec libtiff ms | dec speed-up | → Page ms | bytes faxpipe | bytes libtiff | identical |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for c in cells:
        fe, le, fd, ld, fp = (c.median_ms(k)
                              for k in ("fp_enc", "lt_enc", "fp_dec", "lt_dec", "fp_page"))
        dec_lt = fmt_ms(ld) if not c.lt_decode_error else c.lt_decode_error.split(" (")[0]
        dec_fp = fmt_ms(fd) if c.fp_decode_ok else f"{fmt_ms(fd)} WRONG PIXELS"
        lines.append(
            f"| {c.name} | {c.res} | {c.scheme} | {fmt_ms(fe)} | {fmt_ms(le)} | {fmt_ratio(le, fe)} "
            f"| {dec_fp} | {dec_lt} | {fmt_ratio(ld, fd)} | {fmt_ms(fp)} | {len(c.fp_bytes):,} "
            f"| {len(c.lt_bytes):,} | {c.identical} |"
        )
    return lines


def summary(cells: list[Cell]) -> list[str]:
    enc = [c.median_ms("lt_enc") / c.median_ms("fp_enc") for c in cells]
    dec = [c.median_ms("lt_dec") / c.median_ms("fp_dec") for c in cells if c.samples["lt_dec"]]
    out = [f"encode speed-up: min {min(enc):.2f}×, median {statistics.median(enc):.2f}× "
           f"(target ≥ 3×; {sum(r >= 3 for r in enc)}/{len(enc)} cells meet it)"]
    if dec:
        out.append(f"decode speed-up: min {min(dec):.2f}×, median {statistics.median(dec):.2f}× "
                   f"(target ≥ 2×; {sum(r >= 2 for r in dec)}/{len(dec)} cells meet it)")
    body = sorted({c.scheme for c in cells if c.identical == "body"})
    if body:
        out.append(f"'body' ({', '.join(body)}): identical but for RTC. In MR that is the known "
                   "deviation: faxpipe's RTC is EOL+1 (T.4 §4.1.4), libtiff tags it like the next "
                   "row, and 2287 % 4 and 1143 % 2 are not 0")
    wrong = [f"{c.name}/{c.res}/{c.scheme}" for c in cells if not c.fp_decode_ok]
    out.append("faxpipe decodes every libtiff stream to the page's pixels" if not wrong
               else f"faxpipe decodes WRONG pixels: {', '.join(wrong)}")
    return out


BACK_TO_BACK = (
    "Sampling: each cell's samples back to back, faxpipe and libtiff taking turns, after one "
    "untimed round, so both codecs find their data in the caches; a sample is the mean of as "
    "many runs as make some 2 ms (up to 50 for the white page's cells of microseconds). See "
    "bench/codec.py. `--round-robin` (one run of every cell in turn, the caches cold for the "
    "small cells) shows the other case: there both codecs read their tables and the page from "
    "memory, the white page's cells measure mostly that, and its ratios fall below the targets.")
ROUND_ROBIN = (
    "Sampling: `--round-robin`, one run of every cell in turn, so that the other pages push "
    "each cell's data and both codecs' tables out of the caches between its samples; the "
    "small cells (the white page, the sparse pages) measure mostly memory.")


def write_markdown(path: str, command: str, sampling: str, lines: list[str],
                   notes: list[str]) -> None:
    section = [
        "## Codec",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.date.today().isoformat()}; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, shared, noisy; Python {platform.python_version()}; "
        f"{libtiff.version()} (Debian, ctypes).",
        "",
        "Medians of interleaved runs, in ms; speed-up = libtiff time / faxpipe time. What is "
        "timed is described in bench/codec.py: both decoders write into a preallocated buffer "
        "(faxpipe's `decode_into`); \"→ Page\" is `decode`, which allocates a new page. Pages: "
        "bench/pages.py (A4, 1728 pels; fine 2287 rows, standard 1143).",
        "",
        "faxpipe codes a 2-D row, encoding or decoding, either by searching the reference "
        "row's changes for b1 or, in busy rows where that search mispredicts (dithered "
        "photographs, noise), with a table of the reference row; it chooses row by row "
        "(faxpipe/codec/_t4.c, encode_2d_table and decode_2d_table).",
        "",
        sampling,
        "",
        *lines,
        "",
        *[f"* {n}" for n in notes],
        "",
    ]
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    if not text:
        text = "# Benchmarks\n\nResults of the scripts in bench/, newest first within a section.\n\n"
    start = text.find("## Codec")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + "\n".join(section) + (text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(section)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=None, help="samples per operation (default 11)")
    parser.add_argument("--quick", action="store_true", help="3 samples per operation")
    parser.add_argument("--pages", default=",".join(pages.NAMES))
    parser.add_argument("--res", default=",".join(RESOLUTIONS))
    parser.add_argument("--schemes", default=",".join(SCHEMES))
    parser.add_argument("--round-robin", action="store_true",
                        help="one sample of every cell per round (caches cold for small cells)")
    parser.add_argument("--write", action="store_true", help="record the table in BENCHMARKS.md")
    args = parser.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 11)

    started = time.perf_counter()
    cells = [Cell(n, r, s) for n in args.pages.split(",") for r in args.res.split(",")
             for s in args.schemes.split(",")]
    gc.disable()
    try:
        if args.round_robin:
            for i in range(repeat):
                for cell in cells:
                    cell.measure(flip=bool(i % 2))
        else:
            for cell in cells:
                cell.settle()
                for i in range(repeat):
                    cell.measure(flip=bool(i % 2))
    finally:
        gc.enable()
    lines = table(cells)
    notes = summary(cells)
    print("\n".join(lines))
    print()
    print("\n".join(notes))
    print(f"({repeat} samples per operation, {time.perf_counter() - started:.0f} s)")
    if args.write:
        command = "python bench/codec.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_markdown(os.path.join(ROOT, "BENCHMARKS.md"), command.strip(),
                       ROUND_ROBIN if args.round_robin else BACK_TO_BACK, lines,
                       notes + [f"{repeat} samples per operation."])
    return 0


if __name__ == "__main__":
    sys.exit(main())
