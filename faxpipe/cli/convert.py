"""``faxpipe convert``: documents (jpg, tif, pdf, txt) to TIFF Class F (RFC 2306).

One output: ``faxpipe convert INPUT… -o OUT.tif`` — all inputs, in order, as one multi-page file.
Batch: ``faxpipe convert --out-dir DIR INPUT…`` — each input (directories are walked) to its
own ``DIR/NAME.tif``, in parallel processes (``--jobs``, default all cores), a progress bar on
stderr when it is a terminal, and a summary table on stdout.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..cores import usable_cores
from . import EXIT_INVALID, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE

COMPRESSIONS = {"mh": "g3-1d", "mr": "g3-2d", "mmr": "g4"}  # T.4 1-D, T.4 2-D, T.6

HELP_EPILOG = """\
exit codes:
  0  every input converted
  1  some inputs failed (batch mode, --out-dir); the others were written
  2  usage error (bad option, no input, neither -o nor --out-dir, output not writable)
  3  an input is invalid; stderr says why, e.g. "fx_file_invalid: scan.pdf: password protected"
"""


def add_parser(subparsers) -> None:
    import argparse

    p = subparsers.add_parser(
        "convert", help="convert documents (jpg, tif, pdf, txt) to TIFF-F fax files",
        description="Convert documents to TIFF Class F: all inputs into one file (-o), or each "
                    "input into its own file in parallel (--out-dir).",
        epilog=HELP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, or directories (walked, sorted)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("-o", "--output", metavar="OUT.tif", help="one multi-page TIFF-F from all inputs in order")
    where.add_argument("--out-dir", metavar="DIR", help="one TIFF-F per input in DIR (batch)")
    p.add_argument("--resolution", choices=("standard", "fine", "superfine"), default="fine")
    p.add_argument("--paper", choices=("a4", "letter", "legal", "b4", "a3"), default="a4")
    p.add_argument("--compression", choices=tuple(COMPRESSIONS), default="mmr",
                   help="mh = T.4 1-D, mr = T.4 2-D, mmr = T.6 (default)")
    p.add_argument("--renderer", choices=("pdfium", "ghostscript"), default="pdfium", help="PDF renderer")
    p.add_argument("--header", metavar="TEXT", help="a header line at the top of every page")
    p.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                   help="batch: worker processes (default: all cores)")
    p.set_defaults(run=run)


@dataclass(frozen=True)
class Options:
    resolution: str = "fine"
    paper: str = "a4"
    compression: str = "mmr"
    renderer: str = "pdfium"
    header: str | None = None


@dataclass(frozen=True)
class Result:
    """One batch input's outcome: pages and bytes written, or the UAPI code and reason."""

    source: str
    output: str
    pages: int = 0
    size: int = 0
    seconds: float = 0.0
    code: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.code is None


def convert_to_file(sources: list[str], output: str | os.PathLike, options: Options) -> tuple[int, int]:
    """Convert ``sources`` into one TIFF-F at ``output``; returns (pages, bytes)."""
    import faxpipe

    from .. import tiff

    document = faxpipe.convert(sources, resolution=options.resolution, paper=options.paper,
                               renderer=options.renderer, header=options.header)
    pages = list(getattr(document, "pages", document))
    size = tiff.write(output, pages, compression=COMPRESSIONS[options.compression])
    return len(pages), size


def convert_one(source: str, output: str, options: Options) -> Result:
    """One batch input; errors become a failed Result (worker processes never raise)."""
    from ..errors import FaxpipeError

    start = time.perf_counter()
    try:
        pages, size = convert_to_file([source], output, options)
    except FaxpipeError as exc:
        return Result(source, output, seconds=time.perf_counter() - start, code=exc.code, reason=exc.reason)
    except Exception as exc:  # a bug must not take the whole batch down
        return Result(source, output, seconds=time.perf_counter() - start,
                      code="internal_server_error", reason=f"{type(exc).__name__}: {exc}")
    return Result(source, output, pages, size, time.perf_counter() - start)


def expand(inputs: list[str]) -> list[str]:
    """Files as given; directories replaced by the regular, non-hidden files under them, sorted."""
    files = []
    for item in inputs:
        if os.path.isdir(item):
            for root, dirs, names in os.walk(item):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files += [os.path.join(root, n) for n in sorted(names) if not n.startswith(".")]
        else:
            files.append(item)
    return files


def output_names(sources: list[str], out_dir: str) -> list[str]:
    """``DIR/stem.tif``; when two inputs share a stem, ``DIR/name.ext.tif`` then a counter."""
    taken: set[str] = set()
    stems = [Path(s).stem for s in sources]
    names = []
    for source, stem in zip(sources, stems):
        candidates = [stem] if stems.count(stem) == 1 else []
        candidates.append(Path(source).name)
        name = next((c for c in candidates if c not in taken), None)
        n = 2
        while name is None:
            name = f"{Path(source).name}-{n}" if f"{Path(source).name}-{n}" not in taken else None
            n += 1
        taken.add(name)
        names.append(os.path.join(out_dir, name + ".tif"))
    return names


def _progress(done: int, total: int, failed: int, start: float, stream) -> None:
    width = 30
    filled = width * done // max(total, 1)
    elapsed = time.perf_counter() - start
    stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
                 + (f" ({failed} failed)" if failed else "") + f" {elapsed:5.1f} s")
    if done == total:
        stream.write("\n")
    stream.flush()


def run_batch(sources: list[str], out_dir: str, options: Options, jobs: int) -> list[Result]:
    """Convert each source to its own file with ``jobs`` processes; results in input order."""
    os.makedirs(out_dir, exist_ok=True)
    outputs = output_names(sources, out_dir)
    bar = sys.stderr.isatty()
    results: list[Result | None] = [None] * len(sources)
    start = time.perf_counter()
    done = failed = 0

    def record(i: int, result: Result) -> None:
        nonlocal done, failed
        results[i] = result
        done += 1
        if not result.ok:
            failed += 1
            if bar:
                sys.stderr.write("\r\033[K")
            print(f"{result.code}: {result.reason}", file=sys.stderr)
        if bar:
            _progress(done, len(sources), failed, start, sys.stderr)

    if jobs <= 1 or len(sources) <= 1:
        for i, (source, output) in enumerate(zip(sources, outputs)):
            record(i, convert_one(source, output, options))
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=min(jobs, len(sources))) as pool:
            futures = {pool.submit(convert_one, s, o, options): i for i, (s, o) in enumerate(zip(sources, outputs))}
            for future in as_completed(futures):
                record(futures[future], future.result())
    return [r for r in results if r is not None]


def summary(results: list[Result], seconds: float) -> str:
    """The table printed after a batch, and a totals line."""
    rows = [("input", "pages", "bytes", "seconds", "result")]
    for r in results:
        rows.append((r.source, str(r.pages) if r.ok else "-", f"{r.size:,}" if r.ok else "-",
                     f"{r.seconds:.2f}", f"ok -> {r.output}" if r.ok else f"{r.code}: {r.reason}"))
    widths = [max(len(row[c]) for row in rows) for c in range(4)]
    lines = [f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  "
             f"{row[3]:>{widths[3]}}  {row[4]}" for row in rows]
    ok = [r for r in results if r.ok]
    pages = sum(r.pages for r in ok)
    lines.append(f"{len(ok)} converted, {len(results) - len(ok)} failed, {pages} pages in "
                 f"{seconds:.2f} s ({pages / seconds if seconds else 0:.1f} pages/s)")
    return "\n".join(lines)


def run(args) -> int:
    options = Options(args.resolution, args.paper, args.compression, args.renderer, args.header)
    sources = expand(args.inputs)
    if not sources:
        print("faxpipe convert: no input files (the directories given are empty)", file=sys.stderr)
        return EXIT_USAGE
    if args.jobs < 0:
        print("faxpipe convert: --jobs must be 0 (all cores) or more", file=sys.stderr)
        return EXIT_USAGE
    if args.output is not None:
        from ..errors import FaxpipeError

        try:
            pages, size = convert_to_file(sources, args.output, options)
        except FaxpipeError as exc:
            print(f"{exc.code}: {exc.reason}", file=sys.stderr)
            return EXIT_INVALID
        except OSError as exc:  # the output cannot be written: the command line is at fault
            print(f"faxpipe convert: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        print(f"{args.output}: {pages} page{'s' * (pages != 1)}, {size:,} bytes")
        return EXIT_OK
    start = time.perf_counter()
    results = run_batch(sources, args.out_dir, options, args.jobs or usable_cores())
    print(summary(results, time.perf_counter() - start))
    return EXIT_OK if all(r.ok for r in results) else EXIT_SOME_FAILED
