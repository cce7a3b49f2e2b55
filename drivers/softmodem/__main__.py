"""python -m drivers.softmodem --pair — software fax modems on pseudo-terminals.

Prints one line per modem, ``DEVICE NUMBER`` (e.g. ``/dev/pts/5 100``), the modems joined by a
simulated phone line on one exchange, then serves until SIGINT / SIGTERM. Dial the other modem's
number from either device. ``faxpipe softmodem`` calls :func:`main` with the same arguments.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .dce import SoftModem
from .line import Exchange, Faults
from .pty import PtyModem


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m drivers.softmodem",
                                description="Serve software fax modems (Class 1 T.31, Class 2, Class 2.0 T.32) on pseudo-terminals.")
    p.add_argument("--pair", action="store_true", help="two modems joined by a line (numbers 100 and 200)")
    p.add_argument("--numbers", default=None, help="comma-separated numbers, one pty each (default 100,200)")
    p.add_argument("--exchange", default="pty", help="exchange name (default pty)")
    p.add_argument("--rate-scale", type=float, default=1.0, help="line time runs this many times faster (1)")
    p.add_argument("--ring-interval", type=float, default=6.0, help="seconds between rings (6)")
    p.add_argument("--max-rings", type=int, default=5, help="rings before NO ANSWER (5)")
    p.add_argument("--rings", type=int, default=0, help="S0: auto-answer after this many rings (0 = ATA)")
    p.add_argument("--fault", action="append", default=[], metavar="KEY=VALUE",
                   help="a fault for every modem: ber=1e-4, seed=1, drop=8C, corrupt=n2, cut=fcf:2E, busy=1 …")
    p.add_argument("--class", dest="classes", default="1,2,2.0",
                   help="fax classes the modems offer, e.g. 2.0 or 1,2 (default 1,2,2.0; one class is also "
                        "the +FCLASS they start in)")
    p.add_argument("--quirks", default="", help="Class 2 / 2.0 quirks: reverse_rx, reverse_tx, host_rtc, bogus_counts")
    p.add_argument("-v", "--verbose", action="store_true", help="log AT commands and results to stderr")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if not args.pair and not args.numbers:
        build_parser().error("say --pair or --numbers N1,N2,…")
    numbers = (args.numbers or "100,200").split(",")
    if args.pair and len(numbers) != 2:
        build_parser().error("--pair takes two numbers")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    try:
        faults = Faults.parse(dict(item.split("=", 1) for item in args.fault))
        exchange = Exchange(args.exchange, rate_scale=args.rate_scale, ring_interval=args.ring_interval,
                            max_rings=args.max_rings, faults=faults)
    except ValueError as exc:
        print(f"softmodem: {exc}", file=sys.stderr)
        return 2
    ptys = []
    classes = tuple(c.strip() for c in args.classes.split(",") if c.strip())
    quirks = tuple(q.strip() for q in args.quirks.split(",") if q.strip())
    for number in numbers:
        try:
            modem = SoftModem(number.strip(), exchange, classes=classes, quirks=quirks)
        except ValueError as exc:
            print(f"softmodem: {exc}", file=sys.stderr)
            return 2
        modem.s[0] = args.rings
        ptys.append(PtyModem(modem))
    for pty in ptys:
        print(f"{pty.path} {pty.modem.number}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for pty in ptys:
            pty.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
