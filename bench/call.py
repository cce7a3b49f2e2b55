"""A whole fax call through two software modems at the real line rate — slow (minutes), so it is a
benchmark script, never part of the test suite.

    python bench/call.py [--page letter] [--calls 1,5] [--scale 1]

For each call size (pages of ``bench/pages.py``, fine, A4): faxpipe's Class 1 driver sends through
``softmodem://100`` to faxpipe's Class 1 driver answering on ``softmodem://200`` (one in-process
exchange, line time at ``--scale`` × real time; 1 = real time). Reported per call:

* measured — the sender's wall time from its first AT command to its ATH0;
* data — the page octets actually sent (the negotiated coding and minimum scan-line fill)
  × 8 / the negotiated bit rate;
* model — data + the T.30 overhead of reference/performance.md "The wire": ≈ 15 s per call and
  ≈ 2.7 s per page; the target is measured within 5 % of the model;
* T.30 — measured − data: what phases A, B, D and E cost on this line.

With ``--scale`` above 1 every line time is divided by it, and so are the model's numbers.
"""

from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "bench")]

import pages as bench_pages  # noqa: E402

from drivers import class1  # noqa: E402
from faxpipe import codec  # noqa: E402

CALL_OVERHEAD = 15.0   # s per call (performance.md "The wire")
PAGE_OVERHEAD = 2.7    # s per page


def one_call(pages, scale: float):
    tx, rx = class1.softmodem_call(pages, rate_scale=scale, wait=120)
    if not (tx.ok and rx.ok and rx.received == pages):
        raise SystemExit(f"the call failed: {tx.completion.name} {tx.reason}")
    return tx


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--page", default="letter", choices=bench_pages.NAMES)
    p.add_argument("--calls", default="1,5", help="pages per call, comma-separated (1,5)")
    p.add_argument("--scale", type=float, default=1.0, help="line time runs this many times faster (1)")
    args = p.parse_args(argv)
    page = bench_pages.page(args.page, "fine")
    print(f"page: {args.page}, fine, {page.width}×{page.height}; line time × 1/{args.scale:g}")
    print("| pages | rate | coding | octets | data s | model s | measured s | measured / model | T.30 s |")
    print("|--:|---|---|--:|--:|--:|--:|--:|--:|")
    worst = 0.0
    for n in (int(x) for x in args.calls.split(",")):
        pages = [page] * n
        result = one_call(pages, args.scale)
        dcs = result.negotiated[-1]
        octets = sum(len(codec.encode(pg, dcs.coding, min_bits=dcs.min_bits, bit_order="lsb")) for pg in pages)
        data = octets * 8 / dcs.rate.bps / args.scale
        model = data + (CALL_OVERHEAD + PAGE_OVERHEAD * n) / args.scale
        ratio = result.seconds / model
        worst = max(worst, abs(ratio - 1))
        print(f"| {n} | {dcs.rate} | {dcs.coding.upper()} | {octets:,} | {data:.1f} | {model:.1f} | "
              f"{result.seconds:.1f} | {ratio:.3f} | {result.seconds - data:.1f} |", flush=True)
    print(f"largest deviation from the model: {worst * 100:.1f} % (target ≤ 5 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
