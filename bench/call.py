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

    python bench/call.py --wire [--pages text,letter] [--scale 1]

compares the wire time of one page sent as MH, as MR (both without ECM, at the receiver's 0 ms
minimum scan-line time) and as MMR inside ECM (HDLC frames of 256 octets, PPS): octets on the
line, their seconds at the negotiated rate, and the measured call (performance.md "The wire":
text MH 60 / MR 47 / MMR 40 s, 45 s inside ECM framing; letter 25 / 17 / 13 s).
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
    # the model counts the page's own octets: no ECM framing, the coding as before ECM existed
    tx, rx = class1.softmodem_call(pages, rate_scale=scale, wait=120, tx_options={"ecm": False, "coding": "mr"})
    if not (tx.ok and rx.ok and rx.received == pages):
        raise SystemExit(f"the call failed: {tx.completion.name} {tx.reason}")
    return tx


WIRE = (("MH", {"ecm": False, "coding": "mh"}), ("MR", {"ecm": False, "coding": "mr"}),
        ("MMR in ECM", {"ecm": True, "coding": "mmr"}))


def wire(names, scale: float) -> int:
    from faxpipe.t30 import hdlc
    from faxpipe.t30.ecm import split_page
    from faxpipe.t30.events import SendBlock

    print(f"line time × 1/{scale:g}; one fine A4 page per call, V.17 14 400")
    print("| page | coding | octets on the wire | wire s | measured call s (× scale) | T.30 s |")
    print("|---|---|--:|--:|--:|--:|")
    for name in names:
        page = bench_pages.page(name, "fine")
        for label, options in WIRE:
            tx, rx = class1.softmodem_call([page], rate_scale=scale, wait=300, tx_options=options)
            if not (tx.ok and rx.received == [page]):
                raise SystemExit(f"the {label} call failed: {tx.completion.name} {tx.reason}")
            dcs = tx.negotiated[-1]
            data = codec.encode(page, dcs.coding, min_bits=dcs.min_bits, bit_order="lsb")
            if dcs.ecm:
                octets = sum(len(hdlc.encode_block(SendBlock(number=1, block=b, frames=list(enumerate(frames)),
                                                             modulation=None).hdlc_frames()))
                             for b, frames in enumerate(split_page(data, 256)))
            else:
                octets = len(data)
            seconds = octets * 8 / dcs.rate.bps
            measured = tx.seconds * scale
            print(f"| {name} | {label} ({dcs.coding.upper()}{', ECM' if dcs.ecm else ''}) | {octets:,} | "
                  f"{seconds:.1f} | {measured:.1f} | {measured - seconds:.1f} |", flush=True)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--wire", action="store_true", help="MH vs MR vs MMR-in-ECM, one page per call")
    p.add_argument("--pages", default="text,letter", help="pages for --wire (text,letter)")
    p.add_argument("--page", default="letter", choices=bench_pages.NAMES)
    p.add_argument("--calls", default="1,5", help="pages per call, comma-separated (1,5)")
    p.add_argument("--scale", type=float, default=1.0, help="line time runs this many times faster (1)")
    args = p.parse_args(argv)
    if args.wire:
        return wire(args.pages.split(","), args.scale)
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
