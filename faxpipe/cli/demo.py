"""``faxpipe demo``: the main job end to end on the embedded default, no hardware, no network
beyond loopback.

First the system of the specification: ``faxpipe serve`` starts (SQLite in ``OUT/data`` and the
default software modem pair, whose far end answers every number and files what it receives);
an organization, a user, the extension 0003*210 and an API token are made with the admin library;
the specification's example request (``POST /uapi/faxes/@me/0003*210``: a ``files`` part "This is
my fax" and a ``request`` part ``{"recipients": ["7778888"]}``) goes to it with a real multipart
client (httpx); the fax is followed with GET until it is delivered (queued → dialing →
transmitting → delivered), and the far end's copy — TIFF-F and preview PNG under
``OUT/data/received/`` — is checked against the document the API stored, pel for pel.

Then documents of every accepted kind (PDF, JPEG, TIFF, text, from fixtures/) are converted
into fax pages, encoded into TIFF Class F with each compression, read back and compared pel for
pel, and drawn on a preview sheet as the recipient would see them. Then the pages are faxed: the
Class 1 driver sends them through a software modem, over a simulated line to a second software
modem where the Class 1 driver receives them (in this process, the line running fast enough for the
call to take a few seconds); the received fax is written as TIFF-F, compared with what was sent, and
drawn next to it (``call.png``).
"""

from __future__ import annotations

import time
from pathlib import Path

CALL_SECONDS = 4.0   # the line runs fast enough for the page data to take about this long

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DEFAULT_INPUTS = ("pages/letter.pdf", "pages/chart.tif", "documents/photo.jpg", "documents/utf8.txt")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="convert sample documents to TIFF-F, check them, write a preview")
    p.add_argument("inputs", nargs="*", help=f"documents (default: {', '.join(DEFAULT_INPUTS)} from fixtures/)")
    p.add_argument("-o", "--out-dir", default="demo-out", help="where to write (default: ./demo-out)")
    p.add_argument("--resolution", default="fine", choices=["standard", "fine", "superfine"])
    p.add_argument("--no-call", action="store_true", help="skip the fax call through the software modems")
    p.add_argument("--no-api", action="store_true", help="skip the API part (faxpipe serve and a POST)")
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import tiff
    from ..errors import FaxpipeError
    from ..normalize import convert
    from ..preview import contact_sheet

    inputs = [Path(p) for p in args.inputs] or [FIXTURES / name for name in DEFAULT_INPUTS]
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not args.no_api:
        from .demoapi import api_demo

        api_demo(out)
        print()
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
    if args.no_call:
        return 0
    return call(pages, out)


def call(pages, out: Path) -> int:
    """Fax ``pages`` from one software modem to another and show what arrived next to what was sent."""
    from drivers import class1

    from .. import codec, tiff
    from ..errors import FaxpipeError
    from ..preview import contact_sheet

    octets = sum(len(codec.encode(page, "mr", bit_order="lsb")) for page in pages)
    # Fast, but not so fast that the software modems' fixed latencies outgrow the scaled line times
    # (a 1 s preamble of flags at 20× is 50 ms): the call then takes some 10 s.
    scale = min(20.0, max(5.0, round(octets * 8 / 14_400 / CALL_SECONDS)))
    print(f"faxing {len(pages)} pages ({octets:,} octets MR) from softmodem 100 to softmodem 200, "
          f"the line running {scale:g}× real time (≈{octets * 8 / 14_400 / 60:.1f} min of V.17 at 1×)")
    start = time.perf_counter()
    tx, rx = class1.softmodem_call(pages, rate_scale=scale, tx_log=out / "send.log", rx_log=out / "receive.log",
                                   progress=lambda text: print(f"  sender: {text}", flush=True))
    elapsed = time.perf_counter() - start
    if not (tx.ok and rx.ok):
        raise FaxpipeError(f"the demo call failed: sender {tx.completion.name} ({tx.reason}), receiver "
                           f"{rx.completion.name} ({rx.reason}); transcripts in {out}")
    received = out / "received.tif"
    tiff.write(received, rx.received, compression="g4")
    same = rx.received == list(pages)
    print(f"  {tx.confirmed_pages} of {len(pages)} pages confirmed in {elapsed:.1f} s; {received} "
          f"{'identical to the pages sent, pel for pel' if same else 'DIFFERS from the pages sent'}")
    if not same:
        raise FaxpipeError(f"{received} differs from the pages sent")
    picture = out / "call.png"
    side_by_side(contact_sheet(list(pages), columns=2, thumb_width=300),
                 contact_sheet(rx.received, columns=2, thumb_width=300)).save(picture)
    print(f"  {picture}  (sent | received)   transcripts: {out / 'send.log'}, {out / 'receive.log'}")
    return 0


def side_by_side(left, right):
    """Two sheets next to each other, labelled "sent" and "received"."""
    from PIL import Image, ImageDraw

    band = 28
    image = Image.new("L", (left.width + right.width + 24, max(left.height, right.height) + band), 255)
    image.paste(left, (0, band))
    image.paste(right, (left.width + 24, band))
    draw = ImageDraw.Draw(image)
    draw.text((12, 8), "sent", fill=0)
    draw.text((left.width + 36, 8), "received (through the software modems)", fill=0)
    return image
