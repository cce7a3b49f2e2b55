"""drivers.modemtest — a real test call through a modem with standard pages, and what it showed.

Purpose
    ``faxpipe modem test`` places (``number``) or answers (``answer=True``) one call through the
    Class 1, 2 or 2.0 driver on any pyserial port and reports, from the call's result and its
    transcript (:mod:`drivers.at`, written with every data octet so it can be replayed by
    :mod:`drivers.replay`): the negotiated rate, modulation, resolution, coding and ECM; per page
    the octets, the time on the line, the throughput against the negotiated rate, the receiver's
    answer (MCF / RTP / RTN) and the bad rows found (by us when answering; by the modem's
    ``+FPS`` line counts in Class 2 / 2.0); the trainings (TCF sent or received, ``+FCS`` reports:
    more than one is a retrain) and the transcript path.

Standard pages (:func:`test_pages`), made with faxpipe's own converter (:mod:`faxpipe.normalize`):
    ``text``     a dense page of prose (the converter's text path);
    ``letter``   a sparse business letter;
    ``halftone`` a grey ramp with discs, error-diffused (the converter's image path, JPEG in).
    ``rows`` crops each page to its first rows (quick tests on slow lines).
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field

from drivers.at import ATChannel, Transcript
from drivers.replay import Event, parse_transcript
from faxpipe.errors import ModemError
from faxpipe.page import Page

PAGE_NAMES = ("text", "letter", "halftone")

LETTER = """ACME Fax Test Laboratories
12 Line Street, Springfield

To: the receiving station
Re: faxpipe modem test, page 2 (letter)

Dear Sir or Madam,

this page is a sparse business letter. It checks that short lines, wide margins and long
runs of white survive the call. If you can read this sentence, the letter arrived intact.

Yours faithfully,

faxpipe
"""


def _text_document() -> bytes:
    words = ("the quick brown fox jumps over the lazy dog while five boxing wizards jump quickly "
             "and a wizard's job is to vex chumps quickly in fog; sphinx of black quartz, judge my vow. ")
    paragraph = (words * 3).strip()
    lines = ["faxpipe modem test, page 1 (text)", ""]
    for n in range(1, 19):
        lines += [f"{n:2d}. {paragraph}", ""]
    return "\n".join(lines).encode()


def _halftone_image() -> bytes:
    from PIL import Image, ImageDraw

    width, height = 816, 1056
    image = Image.linear_gradient("L").resize((width, height))
    draw = ImageDraw.Draw(image)
    for i, shade in enumerate((30, 90, 150, 210)):
        x = 120 + i * 170
        draw.ellipse((x - 70, 300, x + 70, 440), fill=shade)
        draw.rectangle((x - 70, 620, x + 70, 760), fill=255 - shade)
    draw.text((60, 60), "faxpipe modem test, page 3 (halftone)", fill=0)
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def test_pages(names=PAGE_NAMES, *, resolution: str = "fine", rows: int | None = None) -> list[Page]:
    """The standard test pages, in the order of ``names`` (each one page)."""
    from faxpipe.normalize import convert

    unknown = [n for n in names if n not in PAGE_NAMES]
    if unknown:
        raise ValueError(f"unknown test page(s) {', '.join(unknown)}; known: {', '.join(PAGE_NAMES)}")
    sources = {"text": lambda: convert([("text.txt", _text_document())], resolution),
               "letter": lambda: convert([("letter.txt", LETTER.encode())], resolution),
               "halftone": lambda: convert([("halftone.jpg", _halftone_image())], resolution, halftone="diffusion")}
    pages = []
    for name in names:
        page = sources[name]().pages[0]
        if rows is not None and rows < page.height:
            page = Page(page.width, rows, page.data[:rows * page.stride], page.xres, page.yres)
        pages.append(page)
    return pages


# --- the report ----------------------------------------------------------------------------------------

@dataclass
class PageStats:
    number: int
    octets: int = 0
    seconds: float = 0.0
    throughput: float = 0.0          # bit/s of page data over the time it took
    efficiency: float = 0.0          # throughput / negotiated rate (× the softmodem's rate_scale)
    response: str | None = None      # MCF, RTP, RTN as the receiver answered
    rows: int | None = None
    bad_rows: int | None = None      # None: not known on this side


@dataclass
class TestReport:
    __test__ = False   # not a pytest class

    device: str
    role: str                        # calling / answering
    fax_class: str
    ok: bool = False
    completion: str = ""
    reason: str = ""
    remote_ident: str = ""
    rate: int = 0                    # negotiated bit/s (the last negotiation)
    modulation: str = ""
    resolution: str = ""
    coding: str = ""
    ecm: bool = False
    width: int = 0
    trainings: int = 0               # TCF exchanges (Class 1) or +FCS reports (Class 2 / 2.0)
    retrains: int = 0                # trainings after the first
    pages_total: int = 0
    pages_confirmed: int = 0
    pages: list[PageStats] = field(default_factory=list)
    seconds: float = 0.0
    rate_scale: float = 1.0          # a softmodem line running faster than real time
    transcript: str | None = None

    @property
    def bad_rows(self) -> int | None:
        known = [p.bad_rows for p in self.pages if p.bad_rows is not None]
        return sum(known) if known else None

    def to_dict(self) -> dict:
        out = asdict(self)
        out["bad_rows"] = self.bad_rows
        return out

    def table(self) -> str:
        rows = [("device", self.device), ("role", f"{self.role}, Class {self.fax_class}"),
                ("result", f"{'OK' if self.ok else 'FAILED'} ({self.completion}{': ' + self.reason if self.reason else ''})"),
                ("remote", self.remote_ident or "-"),
                ("negotiated", f"{self.modulation} {self.rate} bit/s, {self.resolution}, {self.coding.upper()}, "
                               f"ECM {'on' if self.ecm else 'off'}, {self.width} pels" if self.rate else "-"),
                ("trainings", f"{self.trainings} ({self.retrains} retrain{'s' if self.retrains != 1 else ''})"),
                ("pages", f"{self.pages_confirmed} of {self.pages_total} confirmed")]
        for p in self.pages:
            bad = "?" if p.bad_rows is None else str(p.bad_rows)
            rows.append((f"page {p.number}", f"{p.octets} octets in {p.seconds:.2f} s = {p.throughput:.0f} bit/s "
                                             f"({p.efficiency:.0%} of {self.rate}), {p.response or '-'}, "
                                             f"bad rows {bad}"))
        if self.rate_scale != 1:
            rows.append(("line time", f"{self.rate_scale:g}x real time (softmodem rate_scale)"))
        rows.append(("call time", f"{self.seconds:.1f} s"))
        rows.append(("transcript", self.transcript or "(memory)"))
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


# --- timing from the transcript ------------------------------------------------------------------------

def _page_number(what: str) -> int | None:
    parts = what.split()
    if len(parts) >= 2 and parts[0] == "page" and parts[1].isdigit():
        return int(parts[1])
    return None


def page_timings(events: list[Event]) -> dict[int, tuple[int, float]]:
    """page number → (octets, seconds on the line) from a transcript's events: the last attempt of
    each page; the ECM blocks of a page (``page N block B``, resent frames included) add up. Class 1 sending: ``AT+FTM`` to its OK; receiving: CONNECT to NO CARRIER; Class 2 /
    2.0: the data block to the modem's next answer (sending) or DC2 to the data's end (receiving)."""
    out: dict[int, tuple[int, float]] = {}
    for i, event in enumerate(events):
        if event.kind != "data":
            continue
        number = _page_number(event.what)
        if number is None:
            continue
        start = event.time
        for back in range(i - 1, max(-1, i - 4), -1):
            prev = events[back]
            if prev.kind == "note":
                continue
            if prev.text.startswith(("AT+FTM", "AT+FRM")) or prev.text in ("<DC2>", "<DC1>") or (
                    prev.text.startswith("CONNECT") and event.direction == "RX"):
                start = prev.time
                break
        end = event.time
        if event.direction == "TX":
            end = next((e.time for e in events[i + 1:] if e.direction == "RX"), event.time)
        else:
            end = next((e.time for e in events[i + 1:] if e.direction == "RX" and e.kind == "line"), event.time)
            if events[i - 1].direction == "RX" and events[i - 1].text.startswith("CONNECT"):
                start = events[i - 1].time
        octets, seconds = out.get(number, (0, 0.0)) if " block " in f" {event.what} " else (0, 0.0)
        out[number] = (octets + event.count, seconds + max(end - start, 1e-6))
    return out


def _bad_rows(events: list[Event]) -> dict[int, tuple[int, int]]:
    """page → (rows, bad rows) from drivers.class1's ``page N: X octets, R rows, B bad`` notes
    (``page N (ECM): X octets MMR, R rows, B bad`` with error correction)."""
    import re

    out = {}
    for e in events:
        m = re.match(r"page (\d+)(?: \(ECM\))?: \d+ octets(?: \w+)?, (\d+) rows, (\d+) bad", e.text) \
            if e.kind == "note" else None
        if m:
            out[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    return out


def _scale(device: str) -> float:
    import urllib.parse as up

    if not device.lower().startswith("softmodem:"):
        return 1.0
    values = up.parse_qs(up.urlsplit(device).query).get("rate_scale")
    try:
        return float(values[-1]) if values else 1.0
    except ValueError:
        return 1.0


# --- the call ------------------------------------------------------------------------------------------

def detect_class(channel: ATChannel) -> str:
    """``auto``: the class faxpipe prefers among those the modem lists (drivers.class2.choose_class)."""
    from drivers.class2 import choose_class

    channel.drain(0.05)
    channel.command("ATE0", timeout=3.0)
    listed = channel.query("AT+FCLASS=?", timeout=3.0)
    offered = [c.strip() for c in listed.replace("(", "").replace(")", "").split(",") if c.strip()]
    if "1.0" in offered:
        offered.append("1")
    return choose_class(offered)


def run_test(port, *, device: str = "", number: str | None = None, answer: bool = False, fax_class: str = "auto",
             pages: list[Page] | None = None, ident: str = "", transcript: Transcript | None = None,
             wait: float = 60.0, flow: str = "none", progress=None, **class1_options) -> TestReport:
    """One test call on an open port; ``number`` to call, or ``answer=True``."""
    if (number is None) == (not answer):
        raise ValueError("give a number to call, or answer=True")
    transcript = transcript or Transcript(full_data=True, memory_lines=1 << 20)
    channel = ATChannel(port, transcript=transcript)
    if fax_class == "auto":
        fax_class = detect_class(channel)
    role = "answering" if answer else "calling"
    if not answer and not pages:
        pages = test_pages()
    report = TestReport(device=device, role=role, fax_class=fax_class, rate_scale=_scale(device),
                        transcript=transcript.path)
    start = time.monotonic()
    if fax_class == "1":
        from drivers.class1 import Class1Modem

        modem = Class1Modem(channel, ident=ident, flow=flow, progress=progress, **class1_options)
        result = modem.receive(rings=1, wait=wait) if answer else modem.send(number, pages)
        _from_class1(report, result)
    elif fax_class in ("2", "2.0"):
        from drivers.class2 import Class2Modem

        modem = Class2Modem(port, fax_class=fax_class, ident=ident, transcript=transcript)
        result = modem.receive(rings=1, wait=wait) if answer else modem.send(number, pages)
        _from_class2(report, result)
    else:
        raise ModemError(f"no driver for fax class {fax_class!r} (1, 2, 2.0)")
    report.seconds = time.monotonic() - start
    _timings(report, parse_transcript("\n".join(transcript.lines)))
    return report


def _from_class1(report: TestReport, result) -> None:
    report.ok = result.ok
    report.completion, report.reason = result.completion.name, result.reason
    report.remote_ident = result.remote_ident
    report.pages_total = result.pages_total
    report.pages_confirmed = result.confirmed_pages if report.role == "calling" else len(result.received)
    if result.negotiated:
        dcs = result.negotiated[-1]
        report.rate, report.modulation = dcs.rate.bps, dcs.rate.modem
        report.resolution, report.coding = dcs.resolution.name.lower(), dcs.coding
        report.ecm, report.width = bool(getattr(dcs, "ecm", False)), dcs.width.pels
    answers = {}
    for r in result.results:
        answers[r.number] = r.response
    report.pages = [PageStats(number=n, response=answers.get(n)) for n in sorted(answers)] or \
        [PageStats(number=n) for n in range(1, report.pages_total + 1)]


def _from_class2(report: TestReport, result) -> None:
    from drivers.class2params import rate_of

    report.ok = result.ok
    report.completion, report.reason = result.completion.name, result.detail or result.hangup
    report.remote_ident = result.remote_ident
    report.pages_total = result.pages_total
    report.pages_confirmed = result.confirmed_pages if report.role == "calling" else len(result.received)
    p = result.negotiated
    if p is not None:
        rate = rate_of(p)
        report.rate, report.modulation = rate.bps, rate.modem
        report.resolution, report.coding = p.resolution.name.lower(), p.coding
        report.ecm, report.width = p.ec > 0, p.width
    last = {}
    for page in result.pages:
        last[page.number] = page
    for n in sorted(last):
        page = last[n]
        stats = PageStats(number=n, response=page.response)
        if len(page.line_counts) >= 2:
            stats.rows, stats.bad_rows = page.line_counts[0], page.line_counts[1]
        if page.page is not None:
            stats.rows = page.rows or page.page.height
        report.pages.append(stats)


def _timings(report: TestReport, events: list[Event]) -> None:
    timings = page_timings(events)
    bad = _bad_rows(events)
    if report.fax_class == "1":
        report.trainings = sum(1 for e in events if e.kind == "data" and e.what.startswith("TCF"))
    else:
        heads = ("+FCS:", "+FDCS:")
        report.trainings = sum(1 for e in events if e.direction == "RX" and e.text.startswith(heads))
    report.retrains = max(0, report.trainings - 1)
    known = {p.number: p for p in report.pages}
    for number, (octets, seconds) in sorted(timings.items()):
        stats = known.get(number)
        if stats is None:
            stats = known[number] = PageStats(number=number)
            report.pages.append(stats)
        stats.octets, stats.seconds = octets, seconds
        stats.throughput = octets * 8 / seconds
        line_rate = report.rate * report.rate_scale   # a softmodem line may run faster than real time
        stats.efficiency = stats.throughput / line_rate if line_rate else 0.0
        if number in bad:
            stats.rows, stats.bad_rows = bad[number]
    report.pages.sort(key=lambda p: p.number)


def test_device(device: str, *, log=None, **options) -> TestReport:
    """Open ``device``, run :func:`run_test`, close; the transcript (every octet) goes to ``log`` or a
    kept temporary file."""
    from drivers.at import open_port

    if log is None:
        fd, log = tempfile.mkstemp(prefix=f"faxpipe-modem-test-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".log")
        os.close(fd)
    transcript = Transcript(log, full_data=True, memory_lines=1 << 20)
    try:
        port = open_port(device, baudrate=19200 if device.lower().startswith("softmodem:") else 115200)
    except Exception as exc:
        transcript.close(failed=True)
        raise ModemError(f"cannot open the modem {device!r}: {exc}") from exc
    report = None
    try:
        report = run_test(port, device=device, transcript=transcript, **options)
        return report
    finally:
        transcript.close(failed=report is None or not report.ok)
        port.close()


class SoftmodemFarEnd:
    """A faxpipe station on another number of a softmodem exchange, in a thread: it answers
    (``answer=True``, to be called by the modem under test) or calls ``call`` with ``pages``.

    ``device`` is the modem under test's URL; the far end opens the same URL with ``number``
    instead (same exchange, same options). ``fax_class``: the far end's driver."""

    def __init__(self, device: str, number: str, *, call: str | None = None, pages=None, fax_class: str = "1",
                 wait: float = 60.0, ident: str = "+1 555 0199"):
        import threading
        import urllib.parse as up

        from drivers.at import open_port

        parts = up.urlsplit(device)
        if parts.scheme.lower() != "softmodem":
            raise ValueError(f"a softmodem far end needs a softmodem:// device, not {device!r}")
        query = up.parse_qs(parts.query, keep_blank_values=True)
        query.pop("class", None)
        self.url = up.urlunsplit((parts.scheme, number, "", up.urlencode(query, doseq=True), ""))
        self.port = open_port(self.url)
        self.result = None
        self.error: BaseException | None = None

        def run():
            try:
                if fax_class == "1":
                    from drivers.class1 import Class1Modem

                    modem = Class1Modem(ATChannel(self.port), ident=ident, flow="none")
                    self.result = modem.send(call, pages) if call else modem.receive(rings=1, wait=wait)
                else:
                    from drivers.class2 import Class2Modem

                    modem = Class2Modem(self.port, fax_class=fax_class, ident=ident)
                    self.result = modem.send(call, pages) if call else modem.receive(rings=1, wait=wait)
            except BaseException as exc:   # reported by join()
                self.error = exc

        self.thread = threading.Thread(target=run, name=f"far-end-{number}", daemon=True)
        self.thread.start()

    def join(self, timeout: float = 60.0):
        self.thread.join(timeout)
        try:
            self.port.close()
        except Exception:
            pass
        if self.error is not None:
            raise self.error
        return self.result


test_pages.__test__ = False   # not pytest tests, whatever their names
test_device.__test__ = False
