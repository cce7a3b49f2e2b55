"""drivers.class2 — send and receive faxes through Class 2 (SP-2388) and Class 2.0 (EIA-592 / T.32) modems.

In these classes the modem runs T.30 itself; the host sets parameters, dials or answers, and moves
page data (fax-protocol.md §4.8). The two command sets differ in names and in traps, all kept in
:mod:`drivers.class2params` (one :class:`~drivers.class2params.Dialect` each):

* Class 2: ``AT+FCLASS=2``, ``+FLID``, ``+FDCC``, ``+FDIS``, ``+FBOR``, ``+FCR``; ``ATD`` → ``+FCON``,
  ``+FCSI:``, ``+FDIS:`` OK; ``+FDT`` → ``+FDCS:`` CONNECT, then **XON** before data; data ends
  with DLE ETX → OK; ``+FET=0|1|2`` (MPS / EOM / EOP) → ``+FPTS:`` OK; ``+FHNG:`` **decimal**;
  receive: ``ATA`` → ``+FCON`` ``+FTSI:`` ``+FDCS:`` OK, ``+FDR`` → CONNECT, **DC2** from us, data,
  DLE ETX, ``+FPTS:`` ``+FET:`` OK.
* Class 2.0: ``AT+FCLASS=2.0``, ``+FLI``, ``+FCC``, ``+FIS``, ``+FNR=1,1,1,0``, ``+FLO``, ``+FBO``,
  ``+FCR``; ``+FCO`` ``+FCI:`` ``+FCS:``; ``+FDT`` → CONNECT and data at once (no XON wait); pages
  end with **DLE , / DLE ; / DLE .** → ``+FPS:`` OK; ``+FHS:`` **hexadecimal**; received data may
  carry DLE SUB (two DLEs).

A page counts as sent only when the modem reports ``+FPTS:1`` / ``+FPS:1`` (or 3, RTP) for it, and
the call is a success only with the final ``+FHNG:0`` / ``+FHS:00``. Hang-up codes map onto the same
:class:`~faxpipe.t30.Completion` codes (hence delivery errors) as the Class 1 driver. Every session
writes a transcript (:mod:`drivers.at`); every wait has a deadline; ``ATH0`` ends every call.

Field modems differ; :class:`Quirks` switches are chosen per modem in the configuration
(``quirks = ["reverse_rx", …]`` in a ``[[modem]]`` table): ``reverse_tx`` / ``reverse_rx`` (the
modem reverses phase C bit order whatever ``+FBO`` says — efax's ``-or`` story, HylaFAX
``Class2BORCmd``), ``trust_line_count`` (HylaFAX ``Class2UseLineCount``, off by default: mgetty saw
``+FPS:1,0,0,0,0`` after 71 KB), ``host_rtc`` (the host appends RTC, HylaFAX ``Class2SendRTC``),
``no_xon_wait`` (Class 2 modems that never send XON), ``dc1_trigger`` (SP-2388-A modems want DC1).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from faxpipe.codec import decode, encode
from faxpipe.errors import CodecError, ModemError
from faxpipe.page import Page
from faxpipe.t30.completion import Completion
from faxpipe.t30.engine import copy_quality_ok

from .at import DLE, XON, ATChannel, Response, Transcript, dle_stuff
from .class2params import (DIALECTS, FOLLOWING_DLE, FOLLOWING_FET, PPR, Dialect, Params, hangup_completion)

DC2 = 0x12
QUIRK_NAMES = ("reverse_tx", "reverse_rx", "trust_line_count", "host_rtc", "no_xon_wait", "dc1_trigger")
PHASE_A_RESULTS = {"BUSY": Completion.BUSY, "NO ANSWER": Completion.NO_ANSWER,
                   "NO CARRIER": Completion.NO_CARRIER, "NO DIALTONE": Completion.NO_DIALTONE}
WIDTHS = {1728: 0, 2048: 1, 2432: 2}


@dataclass(frozen=True)
class Quirks:
    """Per-modem workarounds (see the module docstring); ``Quirks.parse(["reverse_rx"])``."""

    reverse_tx: bool = False
    reverse_rx: bool = False
    trust_line_count: bool = False
    host_rtc: bool = False
    no_xon_wait: bool = False
    dc1_trigger: bool = False

    @classmethod
    def parse(cls, names) -> "Quirks":
        names = [n.strip() for n in (names.split(",") if isinstance(names, str) else names or ()) if n.strip()]
        unknown = sorted(set(names) - set(QUIRK_NAMES))
        if unknown:
            raise ModemError(f"unknown Class 2 quirk(s) {', '.join(unknown)}; known: {', '.join(QUIRK_NAMES)}")
        return cls(**{n: True for n in names})


@dataclass(frozen=True)
class Timeouts:
    """Seconds for each wait (a modem that stays silent longer is reported, never waited for)."""

    command: float = 5.0
    dial: float = 150.0       # ATD: rings, CED, phase B up to the DIS
    answer: float = 90.0      # ATA: phase B up to CFR
    fdt: float = 90.0         # +FDT: DCS, TCF, CFR, retraining
    xon: float = 3.0
    page_end: float = 120.0   # after the page data: the modem drains it, sends the PPM, waits MCF
    fdr: float = 90.0
    data: float = 300.0
    hangup: float = 15.0


@dataclass
class PageReport:
    """One page of a call: ``confirmed`` only on the modem's +FPTS:1 / +FPS:1 (or 3)."""

    number: int
    confirmed: bool
    response: str | None                        # MCF, RTN, RTP, PIN, PIP as the modem reported it
    line_counts: tuple[int, ...] = ()          # lc, blc, cblc, lbc as the modem reported them
    page: Page | None = None                    # received pages
    rows: int = 0                               # rows we decoded (receive) or sent
    terminated: bool = False                    # received: the data ended with RTC


@dataclass
class CallResult:
    completion: Completion
    pages: list[PageReport] = field(default_factory=list)
    remote_ident: str = ""
    remote_caps: Params | None = None
    negotiated: Params | None = None
    hangup: str = ""                            # the modem's report, e.g. "+FHS:00"
    detail: str = ""

    pages_total: int = 0
    transcript: str | None = None
    seconds: float = 0.0                        # from the first command to the hang-up

    @property
    def confirmed(self) -> int:
        return sum(1 for p in self.pages if p.confirmed)

    @property
    def confirmed_pages(self) -> int:
        """Pages confirmed, counted from page 1 (the last report of a page resent after RTN)."""
        last = {p.number: p.confirmed for p in self.pages}
        count = 0
        while last.get(count + 1):
            count += 1
        return count

    @property
    def ok(self) -> bool:
        """A normal end (+FHNG:0 / +FHS:00) with every page confirmed (sending) or some pages (receiving)."""
        return self.completion is Completion.OK and self.pages_total > 0 and (
            self.confirmed_pages == self.pages_total or len(self.received) == self.pages_total)

    @property
    def reason(self) -> str:
        return self.detail

    @property
    def delivery_error(self):
        return self.completion.delivery_error

    @property
    def received(self) -> list[Page]:
        return [p.page for p in self.pages if p.page is not None and p.confirmed]


class CallEnded(Exception):
    """The modem reported a hang-up (or a phase A result): the call is over."""

    def __init__(self, completion: Completion, detail: str):
        super().__init__(detail)
        self.completion, self.detail = completion, detail


def _unquote(text: str) -> str:
    text = text.strip()
    return text[1:-1].strip() if len(text) >= 2 and text[0] == text[-1] == '"' else text.strip()


def _numbers(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip().isdigit()]


def halve_rows(page: Page) -> Page:
    """Fine → standard: each pair of rows ORed into one (as efax does when the receiver lacks 196 lpi)."""
    stride, rows = page.stride, []
    for y in range(0, page.height, 2):
        a = page.data[y * stride:(y + 1) * stride]
        b = page.data[(y + 1) * stride:(y + 2) * stride] if y + 1 < page.height else bytes(stride)
        rows.append(bytes(x | z for x, z in zip(a, b)))
    return Page(page.width, len(rows), b"".join(rows), page.xres, 98.0)


def fit_width(page: Page, width: int) -> Page:
    """Crop or pad (white, right) every row to ``width`` pels."""
    if page.width == width:
        return page
    stride, new = page.stride, (width + 7) // 8
    rows = []
    for y in range(page.height):
        row = bytearray(page.data[y * stride:(y + 1) * stride][:new].ljust(new, b"\0"))
        if width % 8:
            row[-1] &= (0xFF << (8 - width % 8)) & 0xFF
        rows.append(bytes(row))
    return Page(width, page.height, b"".join(rows), page.xres, page.yres)


def choose_class(offered, *, class1_available: bool = True) -> str:
    """``--class auto``: from the classes a modem lists in ``+FCLASS=?``. Class 1 first when the
    Class 1 driver is there (faxpipe then runs T.30 itself and gets its features — ECM, its
    copy-quality check, its transcripts of every frame — whatever the modem's firmware lacks),
    else Class 2.0 (hexadecimal codes, no XON trap), else Class 2."""
    offered = [c.strip() for c in offered]
    for candidate in (("1",) if class1_available else ()) + ("2.0", "2"):
        if candidate in offered:
            return candidate
    raise ModemError(f"the modem offers fax classes {','.join(offered) or 'none'}: none faxpipe can drive")


class Class2Modem:
    """One Class 2 / 2.0 session over an open pyserial port (a device, a pty, a softmodem URL)."""

    def __init__(self, port, *, fax_class: str = "2.0", ident: str = "", quirks: Quirks = Quirks(),
                 transcript: Transcript | str | os.PathLike | None = None, timeouts: Timeouts = Timeouts(),
                 max_rate: int = 14400, max_page_tries: int = 3):
        if fax_class not in DIALECTS:
            raise ValueError(f"fax_class must be '2' or '2.0', not {fax_class!r}")
        self.dialect: Dialect = DIALECTS[fax_class]
        self.ident = ident
        self.quirks = quirks
        self.timeouts = timeouts
        self.at = ATChannel(port, transcript=transcript, timeout=timeouts.command)
        self.br = max(code for code, bps in ((0, 2400), (1, 4800), (2, 7200), (3, 9600), (4, 12000), (5, 14400))
                      if bps <= max_rate)
        self.max_page_tries = max_page_tries
        self.lines: list[str] = []      # information lines of the current call

    # -- set-up -------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Class, reports, bit order, identity, capabilities (efax / HylaFAX order, fax-protocol.md §5)."""
        at, d = self.at, self.dialect
        at.drain(0.05)
        at.check("ATE0V1Q0")
        at.check(f"AT+FCLASS={d.name}")
        if d.name == "2.0":
            at.check("AT+FNR=1,1,1,0")
            at.check("AT+FLO=1")
        at.check(f"AT{d.bit_order}=0")
        at.check("AT+FCR=1")
        at.check(f"AT{d.caps}=1,{self.br},0,2,1,0,0,0")
        at.check(f'AT{d.local_id}="{self.ident}"')
        at.transcript.note(f"Class {d.name} set up; quirks: "
                           f"{', '.join(n for n in QUIRK_NAMES if getattr(self.quirks, n)) or 'none'}")

    # -- responses ----------------------------------------------------------------------------------
    def _look(self, response: Response, result: CallResult) -> None:
        """Pick reports out of a response; raise :class:`CallEnded` on a hang-up report."""
        d = self.dialect
        for line in response.lines:
            self.lines.append(line)
            head, _, value = line.partition(":")
            head = head.strip().upper()
            if head in (d.remote_csi, d.remote_tsi):
                result.remote_ident = _unquote(value)
            elif head == d.remote_caps and response.command.upper().startswith("ATD"):
                result.remote_caps = self._params(value)
            elif head == d.negotiated:
                result.negotiated = self._params(value)
                at_note = f"negotiated {result.negotiated} ({result.negotiated.bps} bit/s, " \
                          f"{result.negotiated.resolution.name.lower()}, {result.negotiated.coding.upper()})"
                self.at.transcript.note(at_note)
            elif head == d.hangup:
                result.hangup = line
                code = d.parse_hangup(line)
                completion, meaning = hangup_completion(d, code)
                last = result.pages[-1] if result.pages else None
                if completion is not Completion.OK and last is not None and last.response == "RTN" \
                        and completion in (Completion.LINE_DROPPED, Completion.REMOTE_DCN):
                    completion = Completion.PAGE_REJECTED
                raise CallEnded(completion, f"{line} ({meaning})")

    def _params(self, value: str) -> Params | None:
        try:
            return Params.parse(value)
        except ValueError:
            self.at.transcript.note(f"unreadable parameters {value!r}")
            return None

    def _page_status(self, response: Response) -> tuple[int | None, tuple[int, ...]]:
        for line in response.lines:
            head, _, value = line.partition(":")
            if head.strip().upper() == self.dialect.page_status:
                numbers = _numbers(value)
                if numbers:
                    return numbers[0], tuple(numbers[1:])
        return None, ()

    def _command(self, command: str, timeout: float, result: CallResult) -> Response:
        response = self.at.command(command, timeout=timeout)
        self._look(response, result)
        return response

    def _wait_hangup(self, result: CallResult) -> None:
        """After the last page, the modem's final hang-up report (if it did not come yet)."""
        deadline = time.monotonic() + self.timeouts.hangup
        while time.monotonic() < deadline:
            line = self.at.read_line(deadline)
            if line is None:
                break
            self._look(Response(command="", result="", lines=[line]), result)
        raise CallEnded(Completion.PROTOCOL_ERROR, f"no {self.dialect.hangup} report after the last page")

    def hang_up(self) -> None:
        """ATH0, whatever happened (a modem that does not answer it is noted, not fatal)."""
        try:
            self.at.drain(0.05)
            self.at.command("ATH0", timeout=self.timeouts.command)
        except ModemError as exc:
            self.at.transcript.note(f"ATH0 failed: {exc}")

    # -- sending ------------------------------------------------------------------------------------
    def send(self, number: str, pages: list[Page]) -> CallResult:
        """Dial ``number`` and send ``pages``; never raises for what happens on the line."""
        result = CallResult(completion=Completion.OK)
        started = time.monotonic()
        if not pages:
            raise ValueError("nothing to send")
        d = self.dialect
        try:
            self.setup()
            vr = int(pages[0].yres > 150)
            self.at.check(f"AT{d.session}={vr},{self.br},{WIDTHS.get(pages[0].width, 0)},2,1,0,0,0")
            response = self._command(f"ATD{number}", self.timeouts.dial, result)
            if response.result in PHASE_A_RESULTS:
                raise CallEnded(PHASE_A_RESULTS[response.result], response.text)
            if response.result != "OK":
                raise CallEnded(Completion.NO_CARRIER, f"ATD answered {response.text}")
            index, tries = 0, 0
            while index < len(pages):
                page = pages[index]
                following = self._following(pages, index)
                if int(page.yres > 150) != vr:
                    vr = int(page.yres > 150)
                    self._command(f"AT{d.session}={vr}", self.timeouts.command, result)
                tries += 1
                report, response = self._send_page(index + 1, page, following, result)
                if report.response is not None:
                    result.pages.append(report)
                self._look(response, result)       # a hang-up report ends the call here
                if report.response is None:
                    raise CallEnded(Completion.PROTOCOL_ERROR, f"no {d.page_status}: report for page {index + 1}")
                if report.confirmed:
                    index, tries = index + 1, 0
                elif tries >= self.max_page_tries:
                    self._command(f"AT{d.terminate}", self.timeouts.hangup, result)
                    raise CallEnded(Completion.PAGE_REJECTED, f"page {index + 1} rejected {tries} times")
            self._wait_hangup(result)
        except CallEnded as end:
            result.completion, result.detail = end.completion, end.detail
        except ModemError as exc:
            result.completion, result.detail = Completion.LINE_DROPPED, str(exc)
        finally:
            self.hang_up()
        result.pages_total = len(pages)
        result.seconds = time.monotonic() - started
        if result.completion is Completion.OK and result.confirmed_pages < len(pages):
            result.completion = Completion.PROTOCOL_ERROR
            result.detail = f"the modem ended normally but confirmed {result.confirmed} of {len(pages)} pages"
        return result

    @staticmethod
    def _following(pages: list[Page], index: int) -> str:
        if index == len(pages) - 1:
            return "end"
        same = (pages[index + 1].yres > 150) == (pages[index].yres > 150)
        return "page" if same else "document"

    def encode_page(self, page: Page, p: Params) -> bytes:
        """The page coded for the negotiated parameters: width, resolution, MH/MR, minimum bits."""
        page = fit_width(page, p.width)
        if not p.vr and page.yres > 150:
            page = halve_rows(page)
        bit_order = "msb" if self.quirks.reverse_tx else "lsb"
        return encode(page, p.coding if p.df in (0, 1) else "mh", min_bits=p.min_bits(),
                      rtc=self.quirks.host_rtc, bit_order=bit_order)

    def _send_page(self, number: int, page: Page, following: str, result: CallResult) -> tuple[PageReport, Response]:
        d, at = self.dialect, self.at
        response = self._command("AT+FDT", self.timeouts.fdt, result)
        if response.result != "CONNECT":
            raise CallEnded(Completion.PROTOCOL_ERROR, f"+FDT answered {response.text}")
        params = result.negotiated or Params(vr=int(page.yres > 150), br=self.br)
        data = self.encode_page(page, params)
        if d.name == "2" and not self.quirks.no_xon_wait:
            self._wait_xon()
        at.transcript.data("TX", data, f"page {number} ({following})")
        end = b"\x10\x03" if d.name == "2" else bytes((DLE,)) + FOLLOWING_DLE[following]
        at.write(dle_stuff(data) + end)
        response = at.wait_result(timeout=self.timeouts.page_end + 16 * len(data) / params.bps)
        if d.name == "2":
            self._look(response, result)
            if response.result != "OK":
                raise CallEnded(Completion.LINE_DROPPED, f"page data answered {response.text}")
            response = at.command(f"AT+FET={FOLLOWING_FET[following]}", timeout=self.timeouts.page_end)
        ppr, counts = self._page_status(response)
        if counts and counts[0] and self.quirks.trust_line_count:
            at.transcript.note(f"modem counted {counts[0]} lines on page {number}")
        report = PageReport(number=number, confirmed=ppr in (1, 3), response=PPR.get(ppr) if ppr else None,
                            line_counts=counts)
        return report, response

    def _wait_xon(self) -> None:
        """SP-2388: after +FDT's CONNECT the modem sends XON when it is ready for data."""
        deadline = time.monotonic() + self.timeouts.xon
        at = self.at
        while time.monotonic() < deadline:
            if XON in at._buf:
                del at._buf[:at._buf.index(XON) + 1]
                at.transcript.rx("<XON>")
                return
            at._fill(deadline)
        at.transcript.note(f"no XON within {self.timeouts.xon:g} s after CONNECT; sending anyway")

    # -- receiving ----------------------------------------------------------------------------------
    def receive(self, *, rings: int = 1, wait: float = 60.0) -> CallResult:
        """Wait for a call (``rings`` RINGs within ``wait`` s), answer, receive every page."""
        result = CallResult(completion=Completion.OK)
        started = time.monotonic()
        d, at = self.dialect, self.at
        try:
            self.setup()
            deadline = time.monotonic() + wait
            seen = 0
            while seen < rings:
                line = at.read_line(deadline)
                if line is None:
                    raise CallEnded(Completion.NO_CARRIER, f"no call within {wait:g} s")
                seen += line == "RING"
            response = self._command("ATA", self.timeouts.answer, result)
            if response.result != "OK":
                raise CallEnded(Completion.NO_CARRIER, f"ATA answered {response.text}")
            override = None
            while True:
                if override is not None:
                    self._command(f"AT{d.page_status}={override}", self.timeouts.command, result)
                    override = None
                response = self._command("AT+FDR", self.timeouts.fdr, result)
                if response.result == "OK":
                    raise CallEnded(Completion.PROTOCOL_ERROR, f"+FDR answered OK without {d.hangup}")
                if response.result != "CONNECT":
                    raise CallEnded(Completion.PROTOCOL_ERROR, f"+FDR answered {response.text}")
                report, response = self._receive_page(len(result.pages) + 1, result)
                result.pages.append(report)
                self._look(response, result)
                if not report.confirmed and report.response == "MCF":
                    override = 2  # our copy-quality check overrules the modem (+FPS=2 / +FPTS=2)
                    report.response = "RTN"
        except CallEnded as end:
            result.completion, result.detail = end.completion, end.detail
        except ModemError as exc:
            result.completion, result.detail = Completion.LINE_DROPPED, str(exc)
        finally:
            self.hang_up()
        result.pages_total = len(result.received)
        result.seconds = time.monotonic() - started
        return result

    def _receive_page(self, number: int, result: CallResult) -> tuple[PageReport, Response]:
        at = self.at
        at.transcript.tx("<DC1>" if self.quirks.dc1_trigger else "<DC2>")
        at.write(bytes((XON if self.quirks.dc1_trigger else DC2,)))
        data = at.read_data(timeout=self.timeouts.data, limit=16 << 20, what=f"page {number}")
        response = at.wait_result(timeout=self.timeouts.page_end)
        ppr, counts = self._page_status(response)
        p = result.negotiated or Params()
        page, rows, good, terminated = None, 0, False, False
        try:
            decoded = decode(data, p.coding, p.width, bit_order="msb" if self.quirks.reverse_rx else "lsb",
                             yres=196.0 if p.vr else 98.0)
            page, stats = decoded.page, decoded.stats
            rows, terminated = stats.rows, stats.terminated
            good = copy_quality_ok(stats)
        except CodecError as exc:
            at.transcript.note(f"page {number} does not decode: {exc}")
        if self.quirks.trust_line_count and counts and len(counts) >= 2 and counts[0]:
            good = good and counts[1] * 20 <= counts[0]     # the modem's own bad-line count agrees
        at.transcript.note(f"page {number}: {rows} rows decoded, modem says {PPR.get(ppr, ppr)} {counts}")
        modem_good = ppr in (1, 3)
        report = PageReport(number=number, confirmed=good and modem_good, response=PPR.get(ppr) if ppr else None,
                            line_counts=counts, page=page, rows=rows, terminated=terminated)
        return report, response

    def close(self, *, failed: bool) -> None:
        self.at.close(failed=failed)


def open_modem(device: str, **kwargs) -> Class2Modem:
    """A :class:`Class2Modem` on a device path or pyserial URL (``softmodem://`` included)."""
    from .at import open_port

    return Class2Modem(open_port(device), **kwargs)


def probe_classes(device: str) -> list[str]:
    """The fax classes a modem lists in ``AT+FCLASS=?`` (for ``--class auto``: :func:`choose_class`)."""
    from .at import open_port

    port = open_port(device)
    try:
        channel = ATChannel(port)
        channel.drain(0.05)
        channel.check("ATE0")
        return [c.strip() for c in channel.query("AT+FCLASS=?").split(",") if c.strip()]
    finally:
        port.close()


def _session(device: str, log):
    from .at import open_port

    return open_port(device), Transcript(log) if log is not None else Transcript()


def send(device: str, number: str, pages: list[Page], *, log=None, fax_class: str = "2.0", **options) -> CallResult:
    """Open ``device``, send ``pages`` to ``number`` in Class 2 / 2.0, close (the CLI's entry point)."""
    port, transcript = _session(device, log)
    modem = Class2Modem(port, fax_class=fax_class, transcript=transcript, **options)
    result = None
    try:
        result = modem.send(number, pages)
        result.transcript = transcript.path
        return result
    finally:
        modem.close(failed=result is None or not result.ok)
        port.close()


def receive(device: str, *, log=None, fax_class: str = "2.0", rings: int = 1, wait: float = 60.0,
            **options) -> CallResult:
    """Open ``device``, answer one call in Class 2 / 2.0, receive, close."""
    port, transcript = _session(device, log)
    modem = Class2Modem(port, fax_class=fax_class, transcript=transcript, **options)
    result = None
    try:
        result = modem.receive(rings=rings, wait=wait)
        result.transcript = transcript.path
        return result
    finally:
        modem.close(failed=result is None or not result.ok)
        port.close()


def class2_send(modem, number: str, tiff_path: str, transcript_path: str, first_page: int = 1,
                attempt: int = 1):
    """The job layer's sender seam (:mod:`faxpipe.jobs.sender`) for a ``[[modem]]`` of class 2 / 2.0:
    the pages from ``first_page`` on (a retry sends only those not yet confirmed), at 9 600 bit/s
    at most from the second attempt on; page numbers in the outcome are the document's."""
    from faxpipe import tiff
    from faxpipe.jobs.sender import CallOutcome, PageResult

    pages = [p.page for p in tiff.read(tiff_path)][first_page - 1:]
    offset = first_page - 1
    result = send(modem.device, number, pages, log=transcript_path, fax_class=modem.fax_class,
                  ident=modem.station_id, quirks=Quirks.parse(getattr(modem, "quirks", ())),
                  max_rate=modem.max_rate if attempt < 2 else min(modem.max_rate, 9600))
    last = {r.number: r for r in result.pages}       # a page resent after RTN: its last attempt counts
    return CallOutcome(completion=result.completion,
                       pages=tuple(PageResult(page=offset + n, confirmed=r.confirmed, result=r.response)
                                   for n, r in sorted(last.items())),
                       remote_csid=result.remote_ident or None, detail=result.hangup or result.detail,
                       pages_total=offset + len(pages))
