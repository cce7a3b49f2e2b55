"""``faxpipe receive --device DEVICE -o DIR``: answer a call, receive a fax, write it as TIFF-F.

Prints the path of each fax written. Exit 0 when every call received ended normally with pages;
1 otherwise (a fax cut short still writes the pages it accepted).
"""

from __future__ import annotations

import time
from pathlib import Path

from . import EXIT_OK, EXIT_SOME_FAILED
from .send import class2_options, fax_class, modem_options


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "receive", help="answer a call and receive a fax through a Class 1, 2 or 2.0 modem",
        description="Wait for a call, answer it and write the fax received as a TIFF-F file in DIR.",
        epilog="exit codes: 0 the fax was received completely, 1 no fax or an incomplete one, "
               "2 usage error, 3 the modem cannot be opened")
    modem_options(p, "CSI", "softmodem://200?…")
    p.add_argument("--rings", type=int, default=1, metavar="N", help="answer after N rings (1)")
    p.add_argument("-o", "--out-dir", required=True, metavar="DIR", help="where to write the faxes")
    p.add_argument("--loop", action="store_true", help="keep answering calls until interrupted")
    p.add_argument("--wait", type=float, metavar="S", help="give up after S seconds without a call")
    p.set_defaults(run=run)


def run(args) -> int:
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    status = EXIT_OK
    calls = 0
    try:
        while True:
            calls += 1
            log = args.log if not args.loop or args.log is None else f"{args.log}.{calls}"
            if not receive_one(args, out, log):
                status = EXIT_SOME_FAILED
            if not args.loop:
                return status
    except KeyboardInterrupt:
        return status


def receive_one(args, out: Path, log) -> bool:
    from .. import tiff

    chosen = fax_class(args)
    print(f"waiting for a call on {args.device} (Class {chosen})", flush=True)
    if chosen == "1":
        from drivers import class1

        result = class1.receive(args.device, log=log, rings=args.rings, wait=args.wait, ident=args.ident,
                                flow=args.flow, progress=lambda text: print(f"  {text}", flush=True))
    else:
        from drivers import class2

        result = class2.receive(args.device, log=log, fax_class=chosen, rings=args.rings,
                                wait=args.wait or 60.0, **class2_options(args))
    if result.received:
        path = unique_path(out, result.remote_ident)
        tiff.write(path, result.received, compression="g4")
        result.path = str(path)
        print(path, flush=True)
    if result.ok:
        print(f"received {len(result.received)} page(s) from {result.remote_ident or 'an unnamed station'} "
              f"({result.seconds:.1f} s)")
        return True
    print(f"incomplete: {len(result.received)} page(s) accepted; {result.completion.name}: {result.reason}")
    if result.transcript:
        print(f"  transcript: {result.transcript}")
    return False


def unique_path(out: Path, remote: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    who = "".join(ch for ch in remote if ch.isdigit())
    base = f"fax-{stamp}" + (f"-{who}" if who else "")
    path, n = out / f"{base}.tif", 1
    while path.exists():
        n += 1
        path = out / f"{base}-{n}.tif"
    return path
