"""``faxpipe modem probe | test | replay``: bench-testing fax modems (drivers.probe, drivers.modemtest,
drivers.replay). DEVICE is a serial device, a pty or a pyserial URL (``softmodem://100?…``).

* ``probe DEVICE [--json]`` — identity, classes, Class 1 modulations, Class 2 / 2.0 capabilities,
  flow control and bit order; the ``[[modem]]`` entry for the modem pool. Exit 0 for a fax modem,
  1 for anything else (the verdict says what: silent, echo, garbage, no-fax …), 3 if the device
  cannot be opened.
* ``test DEVICE --to NUMBER | --answer`` — a real call with the standard test pages; rate, coding,
  ECM, time and throughput per page, retrains, bad rows, the transcript (replayable). Exit 0 when
  the call succeeded, 1 when not, 3 when the modem failed or cannot be opened.
* ``replay TRANSCRIPT`` — serve a recorded session as a fake modem on a pty until the DTE has
  played it through (exit 0) or diverged from it (exit 1, the first difference printed).
"""

from __future__ import annotations

import json
import sys
import time

from . import EXIT_INVALID, EXIT_OK, EXIT_SOME_FAILED


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "modem", help="bench-test a fax modem: probe, test call, replay a transcript",
        description="Find out what a fax modem can do, make a test call, or replay a recorded session.",
        epilog="exit codes: 0 fax modem found / call succeeded / replay matched, 1 not a fax modem / call "
               "failed / replay diverged, 2 usage error, 3 the device cannot be opened or the modem failed")
    sub = p.add_subparsers(dest="modem_command", metavar="SUBCOMMAND")

    probe = sub.add_parser("probe", help="identify a modem and list its fax capabilities")
    probe.add_argument("device", metavar="DEVICE", help="/dev/ttyUSB0, /dev/pts/3 or softmodem://100?…")
    probe.add_argument("--json", action="store_true", help="print the report as JSON")
    probe.add_argument("--timeout", type=float, default=2.0, metavar="S", help="seconds per command (2)")
    probe.add_argument("--log", metavar="FILE", help="write the AT transcript here")
    probe.add_argument("--name", default="modem1", help="name of the [[modem]] entry (modem1)")
    probe.add_argument("--station-id", default="", help="station_id of the [[modem]] entry")
    probe.set_defaults(run=run_probe)

    test = sub.add_parser("test", help="a test call with standard pages, and its numbers")
    test.add_argument("device", metavar="DEVICE")
    who = test.add_mutually_exclusive_group(required=True)
    who.add_argument("--to", metavar="NUMBER", help="the number to call")
    who.add_argument("--answer", action="store_true", help="wait for a call and answer it")
    test.add_argument("--class", dest="fax_class", default="auto", choices=["auto", "1", "2", "2.0"])
    test.add_argument("--pages", default="text,letter,halftone", help="test pages to send (text,letter,halftone)")
    test.add_argument("--rows", type=int, metavar="N", help="crop each test page to its first N rows")
    test.add_argument("--resolution", default="fine", choices=["standard", "fine", "superfine"])
    test.add_argument("--ident", default="+1 555 0100", help="our station identity")
    test.add_argument("--wait", type=float, default=60.0, metavar="S", help="--answer: seconds to wait for a call")
    test.add_argument("--log", metavar="FILE", help="the transcript (default: a kept temporary file)")
    test.add_argument("--far-end", choices=["none", "softmodem"], default="none",
                      help="softmodem: run a faxpipe station on the other number of the softmodem exchange "
                           "(answers --to NUMBER; with --answer it calls DEVICE's number)")
    test.add_argument("--json", action="store_true", help="print the report as JSON")
    test.set_defaults(run=run_test)

    replay = sub.add_parser("replay", help="serve a recorded session as a fake modem on a pty")
    replay.add_argument("transcript", metavar="TRANSCRIPT", help="a drivers.at transcript file")
    replay.add_argument("--link", metavar="PATH", help="also make PATH a symlink to the pty")
    replay.add_argument("--speed", type=float, default=0.0,
                        help="0 answers at once (default); 1 keeps the recorded pauses")
    replay.add_argument("--idle", type=float, default=30.0, metavar="S",
                        help="seconds to wait for the DTE's next command before reporting (30)")
    replay.set_defaults(run=run_replay)
    p.set_defaults(run=lambda args: _usage(p))


def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_probe(args) -> int:
    from drivers.probe import probe_device

    report = probe_device(args.device, timeout=args.timeout, log=args.log)
    if args.json:
        data = report.to_dict()
        data["config"] = report.config_entry(args.name, args.station_id)
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(report.table())
        print()
        print(report.config_entry(args.name, args.station_id))
    if report.verdict == "unopenable":
        return EXIT_INVALID
    return EXIT_OK if report.ok else EXIT_SOME_FAILED


def run_test(args) -> int:
    from drivers.modemtest import SoftmodemFarEnd, test_device, test_pages
    from faxpipe.errors import ModemError

    names = [n.strip() for n in args.pages.split(",") if n.strip()]
    try:
        pages = test_pages(names, resolution=args.resolution, rows=args.rows)
    except ValueError as exc:
        print(f"faxpipe modem test: {exc}", file=sys.stderr)
        return 2
    far = None
    if args.far_end == "softmodem":
        try:
            if args.answer:
                own = args.device.split("://", 1)[1].split("?", 1)[0]
                far = SoftmodemFarEnd(args.device, "900", call=own, pages=pages)
            else:
                far = SoftmodemFarEnd(args.device, args.to)
        except ValueError as exc:
            print(f"faxpipe modem test: {exc}", file=sys.stderr)
            return 2
        time.sleep(0.2)
    progress = None if args.json else (lambda text: print(f"  {text}", flush=True))
    try:
        report = test_device(args.device, log=args.log, number=args.to, answer=args.answer,
                             fax_class=args.fax_class, pages=pages, ident=args.ident, wait=args.wait,
                             progress=progress)
    except ModemError as exc:
        print(f"faxpipe modem test: {exc}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        if far is not None:
            try:
                far.join(args.wait + 30)
            except Exception as exc:   # the far end's failure shows in our report too
                print(f"  far end: {exc}", file=sys.stderr)
    print(json.dumps(report.to_dict(), indent=2, sort_keys=True) if args.json else report.table())
    return EXIT_OK if report.ok else EXIT_SOME_FAILED


def run_replay(args) -> int:
    from drivers.replay import PtyReplay, TranscriptError, load_transcript, replayable

    try:
        events = load_transcript(args.transcript)
    except (OSError, TranscriptError) as exc:
        print(f"faxpipe modem replay: {exc}", file=sys.stderr)
        return EXIT_INVALID
    note = "" if replayable(events) else " (data recorded as heads only: DCE data approximated)"
    with PtyReplay(events, idle=args.idle, speed=args.speed, link=args.link) as server:
        print(server.path, flush=True)
        print(f"replaying {args.transcript}: {len(server.replayer.events)} events{note}; open {server.path}",
              file=sys.stderr, flush=True)
        try:
            result = server.wait()
        except KeyboardInterrupt:
            result = server.close()
    print(result.summary())
    return EXIT_OK if result.ok else EXIT_SOME_FAILED
