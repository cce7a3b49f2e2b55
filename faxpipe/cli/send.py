"""``faxpipe send --device DEVICE [--class 1|2|2.0|auto] NUMBER FILE…``: convert documents and
send them as one fax.

Prints what was negotiated (rate, resolution, coding) and, per page, what the receiver answered.
Exit 0 only when the receiver confirmed every page (MCF / RTP); 1 when the fax was not (completely)
sent; 3 when a document is invalid or the modem cannot be opened.
"""

from __future__ import annotations

from . import EXIT_OK, EXIT_SOME_FAILED


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "send", help="send documents as a fax through a Class 1, 2 or 2.0 modem",
        description="Convert the files into fax pages and send them to NUMBER.",
        epilog="exit codes: 0 every page confirmed by the receiver, 1 not (completely) sent, "
               "2 usage error, 3 invalid document or modem")
    modem_options(p, "TSI", "softmodem://100?…")
    p.add_argument("--resolution", default="fine", choices=["standard", "fine", "superfine"])
    p.add_argument("--max-rate", type=int, choices=[2400, 4800, 7200, 9600, 12000, 14400],
                   help="highest bit rate to offer")
    p.add_argument("number", help="the number to dial")
    p.add_argument("files", nargs="+", metavar="FILE", help="pdf, tif, jpg or txt documents")
    p.set_defaults(run=run)


def modem_options(p, ident_frame: str, example: str) -> None:
    """The options ``faxpipe send`` and ``faxpipe receive`` share."""
    p.add_argument("--device", required=True,
                   help=f"serial device (/dev/ttyUSB0, /dev/pts/3) or pyserial URL ({example})")
    p.add_argument("--class", dest="fax_class", default="1", choices=["1", "2", "2.0", "auto"],
                   help="modem class (default 1: faxpipe runs T.30 itself, with its own copy-quality "
                        "check and a transcript of every frame); 2 / 2.0: the modem runs T.30; auto: "
                        "asks the modem (+FCLASS=?) and prefers 1, then 2.0, then 2")
    p.add_argument("--quirks", default="", metavar="LIST",
                   help="Class 2 / 2.0 modem quirks, comma separated (reverse_tx, reverse_rx, "
                        "trust_line_count, host_rtc, no_xon_wait, dc1_trigger)")
    p.add_argument("--ident", default="", help=f'our station identity ({ident_frame}), e.g. "+1 555 0100"')
    p.add_argument("--log", metavar="FILE", help="write the AT transcript here (default: a temporary "
                   "file, kept only when the call fails; faxpipe receive --loop adds .1, .2 …)")
    p.add_argument("--flow", default="xonxoff", choices=["xonxoff", "rtscts", "none"],
                   help="flow control with the modem (default xonxoff)")


def fax_class(args) -> str:
    """The class to drive the modem in: as asked, or for ``auto`` from the modem's +FCLASS=?."""
    if args.fax_class != "auto":
        return args.fax_class
    from drivers import class2

    chosen = class2.choose_class(class2.probe_classes(args.device))
    print(f"the modem offers its classes; using Class {chosen}", flush=True)
    return chosen


def class2_options(args) -> dict:
    from drivers import class2

    return {"ident": args.ident, "quirks": class2.Quirks.parse(args.quirks)}


def run(args) -> int:
    from ..normalize import convert

    pages = list(convert(args.files, resolution=args.resolution).pages)
    if not pages:
        print("faxpipe send: the documents have no pages")
        return EXIT_SOME_FAILED
    chosen = fax_class(args)
    print(f"sending {len(pages)} page(s) to {args.number} through {args.device} (Class {chosen})", flush=True)
    if chosen == "1":
        from drivers import class1

        result = class1.send(args.device, args.number, pages, log=args.log, ident=args.ident, flow=args.flow,
                             max_rate=args.max_rate, progress=lambda text: print(f"  {text}", flush=True))
    else:
        from drivers import class2

        result = class2.send(args.device, args.number, pages, log=args.log, fax_class=chosen,
                             max_rate=args.max_rate or 14400, **class2_options(args))
    print(summary(result))
    return EXIT_OK if result.ok else EXIT_SOME_FAILED


def summary(result) -> str:
    """One line on how a sending call ended, for people and for scripts."""
    if result.ok:
        return (f"sent: {result.confirmed_pages} of {result.pages_total} page(s) confirmed "
                f"({result.seconds:.1f} s)")
    error = result.delivery_error
    line = (f"NOT sent: {result.confirmed_pages} of {result.pages_total} page(s) confirmed; "
            f"{error.type}/{error.code}{' (retryable)' if error.retryable else ''}: {result.reason}")
    if result.transcript:
        line += f"\n  transcript: {result.transcript}"
    return line
