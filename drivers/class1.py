"""drivers.class1 — fax calls through a Class 1 (ITU-T T.31) modem: the faxpipe.t30 engine pumped
through ``+FTH / +FRH / +FTM / +FRM / +FTS / +FRS`` over any pyserial port (a device path, a pty,
a ``softmodem://`` URL).

Purpose
    :class:`Class1Modem` places one call (:meth:`~Class1Modem.send`) or answers one
    (:meth:`~Class1Modem.receive`) on an open port; :func:`send` / :func:`receive` open the device
    themselves and keep the transcript; :func:`send_fax` is the worker's sender
    (:class:`faxpipe.jobs.sender.Sender`).

How the engine is driven (faxpipe/t30/events.py has the contract)
    Actions are carried out in order. Transmissions: ``SendFrames`` → ``AT+FTH=3``, each frame
    without FCS, DLE-doubled, ending DLE ETX (CONNECT after a non-final frame, OK after the final
    one); ``SendTcf`` / ``SendPage`` → ``AT+FTM=<code>`` (long training for TCF, short for pages),
    the octets (image data LSB first, zero fill for the minimum scan-line time already put in by
    the codec's ``min_bits``), OK once on the line. Waits: ``ReceiveFrames`` → ``AT+FRH=3``, a frame
    with its two FCS octets (checked here; a modem that omits the FCS is tolerated);
    ``ReceiveTcf`` / ``ReceivePage`` → ``AT+FRM=<code>``, data to DLE ETX, NO CARRIER. ``ATD``
    implies ``+FRH=3`` and ``ATA`` implies ``+FTH=3`` (T.31 §8.2). Every wait has a deadline from
    the engine's next timer (T1 / T2 / T4); when it passes, one character aborts the modem's
    receive (T.31 §8.3: the modem answers OK, or CONNECT if the carrier came just then) and the
    engine hears ``TimePassed``.

Gaps (:class:`Gaps`, HylaFAX defaults): ``AT+FRS=7`` after receiving and before transmitting
    (``Class1SwitchingCmd``), ``AT+FTS=7`` before TCF and before MPS / EOM (``Class1TCFWaitCmd``,
    ``Class1PPMWaitCmd``), ``AT+FTS=9`` before EOP (``Class1EOPWaitCmd``) — fax-protocol.md §4.6-4.7.

Line events: ``+FCERROR`` while waiting for TCF or a page (V.21 heard instead) → ``CarrierUp
    (high_speed=False)`` and ``+FRH=3``; ``+FCERROR`` while waiting for frames → try again a moment
    later; NO CARRIER without CONNECT → the line is gone (``LineDropped``); CONNECT then NO CARRIER
    on ``+FRH`` → the frame was lost: keep listening until the timer makes the engine repeat.

Flow control: ``flow="xonxoff"`` (default) lets the modem pause our output with XOFF while we
    transmit and turns host XON/XOFF off whenever the modem sends us frames or page data (0x11 and
    0x13 are data there); ``"rtscts"`` uses the hardware lines, ``"none"`` relies on the port's
    own buffering (a pty, the software modem). DTR is raised if the port has it (a pty has not).

Whatever happens — a normal end, a lost line, a broken modem, Ctrl-C — the modem gets ``ATH0``,
and the transcript of a failed call is kept. A call counts as delivered only when the receiver
confirmed every page with MCF (or RTP): :attr:`CallResult.ok`.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field

from drivers.at import ATChannel, Response, Transcript
from drivers.class1_ecm import EcmSupport, RetryPlan, remaining_pages, retry_plan  # noqa: F401 (re-exported)
from faxpipe import codec
from faxpipe.errors import CodecError, ModemError
from faxpipe.fit import coding_order, fit_page  # noqa: F401  (fit_page: re-exported)
from faxpipe.page import Page, Resolution
from faxpipe.t30 import hdlc
from faxpipe.t30.completion import Completion, DeliveryError, FrameError, RemoteProtocolError
from faxpipe.t30.engine import Engine, Role, StationConfig, Timers
from faxpipe.t30.events import (Abort, BadFrame, CallFinished, CarrierUp, FrameReceived, Hangup, LineDropped,
                                Negotiated, PageData, PageReceived, PageResult, PageSupplied, ReceiveBlock,
                                ReceiveFrames, ReceivePage, ReceiveTcf, RequestPage, SendBlock, SendFrames, SendPage,
                                SendTcf, Start, TcfReceived, TimePassed)
from faxpipe.t30.frames import DCS, DIS, FCF, Modems

COMMAND_TIMEOUT = 5.0      # an ordinary command (ATE0, +FCLASS, +FTS, +FRS, +FTH's CONNECT)
FRAME_TIMEOUT = 10.0       # one V.21 frame after CONNECT: 1 s of flags + up to a few seconds of octets
DATA_IDLE = 10.0           # silence tolerated inside high-speed data before the modem is deemed stuck
DATA_LIMIT = 16 << 20      # octets accepted in one page (a dithered fine page at 14 400 is ~1.5 MB)
DIAL_TIMEOUT = 90.0        # ATD: T0 (60 s) plus answer tone; the modem gives NO ANSWER before that
ANSWER_TIMEOUT = 30.0      # ATA: answer tone (≈3 s) and the first flags
MARGIN = 10.0              # seconds added to a transmission's line time before its OK is overdue
FCERROR_PAUSE = 0.05       # seconds between +FRH=3 retries while a high-speed carrier is still on
PHASE_A = {"BUSY": Completion.BUSY, "NO ANSWER": Completion.NO_ANSWER, "NO DIALTONE": Completion.NO_DIALTONE,
           "NO CARRIER": Completion.NO_CARRIER}
_CALLS = itertools.count()
DIAL_CHARS = re.compile(r"^[0-9*#+,TPWtpw!@ ]{1,64}$")

# T.31 modulation codes (fax-protocol.md §4.4) → the DIS modem family they make possible
_FAMILIES = ((Modems.V27TER_V29_V17, {24, 48, 72, 96, 73, 74, 97, 98, 121, 122, 145, 146}),
             (Modems.V27TER_V29, {24, 48, 72, 96}), (Modems.V29, {72, 96}),
             (Modems.V27TER, {24, 48}), (Modems.V27TER_FALLBACK, {24}))


class _LineDown(Exception):
    """The modem said NO CARRIER outside data: the far end hung up or the line was cut."""


@dataclass(frozen=True)
class Gaps:
    """The commands that space transmissions (None: no command). Defaults as HylaFAX's."""

    switch: str | None = "AT+FRS=7"   # after receiving, before transmitting
    tcf: str | None = "AT+FTS=7"      # after DCS, before TCF
    ppm: str | None = "AT+FTS=7"      # after a page, before MPS / EOM
    eop: str | None = "AT+FTS=9"      # after the last page, before EOP


@dataclass(frozen=True)
class PageReport:
    """One post-page answer: ``response`` is MCF, RTP or RTN (the receiver's)."""

    number: int
    response: str
    confirmed: bool


@dataclass
class CallResult:
    """How one call went. ``pages_total``: pages to send (calling) or accepted (answering)."""

    role: str
    completion: Completion
    reason: str = ""
    pages_total: int = 0
    results: list[PageReport] = field(default_factory=list)
    negotiated: list[DCS] = field(default_factory=list)
    remote_ident: str = ""
    detail: str = ""                  # the modem's own words for phase-A failures (BUSY …)
    transcript: str | None = None
    received: list[Page] = field(default_factory=list)
    path: str | None = None           # answering: the TIFF-F written
    seconds: float = 0.0
    document_pages: tuple[int, ...] = ()   # calling: the document's page numbers this call sent (resends)
    blocks: list = field(default_factory=list)   # ECM: (page, block, frames) per burst sent
    ppr: int = 0                                 # ECM: PPRs heard (calling) or sent (answering)

    @property
    def confirmed_document_pages(self) -> list[int]:
        """The document page numbers the receiver confirmed in this call (MCF / PPS→MCF)."""
        numbers = self.document_pages or tuple(range(1, self.pages_total + 1))
        return sorted({numbers[r.number - 1] for r in self.results if r.confirmed and r.number <= len(numbers)})

    @property
    def confirmed_pages(self) -> int:
        """Pages confirmed (MCF / RTP), counted from page 1; a gap ends the count."""
        confirmed = {r.number for r in self.results if r.confirmed}
        count = 0
        while count + 1 in confirmed:
            count += 1
        return count

    @property
    def ok(self) -> bool:
        """Sending: a normal end with every page confirmed. Answering: a normal end with pages."""
        if self.completion is not Completion.OK or self.pages_total <= 0:
            return False
        if self.role == "answering":
            return len(self.received) == self.pages_total
        return self.confirmed_pages == self.pages_total

    @property
    def delivery_error(self) -> DeliveryError | None:
        """api-contract.md ``recipientStatus[].error``; never None unless :attr:`ok`."""
        if self.ok:
            return None
        return self.completion.delivery_error or DeliveryError(type="fax", code="interrupted", retryable=True)


def modem_family(codes) -> Modems:
    """The widest DIS modem family a set of +FTM / +FRM codes supports."""
    codes = set(codes)
    for family, needed in _FAMILIES:
        if needed <= codes:
            return family
    raise ModemError(f"the modem offers no fax modulation this side can use (+FTM/+FRM codes {sorted(codes)})")


def _codes(text: str) -> set[int]:
    out = set()
    for part in re.split(r"[,\s()]+", text):
        if "-" in part:
            lo, _, hi = part.partition("-")
            if lo.isdigit() and hi.isdigit():
                out.update(range(int(lo), int(hi) + 1))
        elif part.isdigit():
            out.add(int(part))
    return out


class _Stats:
    """Decoder statistics of a page that could not be decoded at all (→ RTN)."""

    rows = bad_rows = consecutive_bad_rows = 0


class Class1Modem(EcmSupport):
    """One fax call at a time on an open Class 1 modem port, through :class:`drivers.at.ATChannel`.

    ``ident``: our station identity (CSI / TSI). ``timers``: T.30 timers (tests shorten them).
    ``ecm``: offer and use error correction (T.30 Annex A, with T.6 / MMR; drivers.class1_ecm) —
    a peer without it (efax) gets MR or MH; ``ecm_frame_size``: 256 or 64 octets.
    ``rerender``: optional ``f(page_number, resolution) -> Page`` converting the source again when
    the receiver lacks the document's resolution (faxpipe.fit).
    ``progress``: called with a line of text for each negotiation and page answer (the CLI prints them).
    ``status``: called as ``status(state, pages)`` when calling — ``"dialing"`` before ATD,
    ``"transmitting"`` before each page goes out and after each page answer (``pages``: confirmed
    so far); the worker records it (faxpipe.jobs.sender). An exception in it only gets noted.
    """

    def __init__(self, channel: ATChannel, *, ident: str = "", timers: Timers | None = None, gaps: Gaps = Gaps(),
                 flow: str = "xonxoff", max_rate: int | None = None, progress=None, status=None,
                 dial_timeout: float = DIAL_TIMEOUT, answer_timeout: float = ANSWER_TIMEOUT,
                 ecm: bool = True, ecm_frame_size: int = 256, rerender=None, coding: str | None = None):
        if flow not in ("xonxoff", "rtscts", "none"):
            raise ValueError(f"flow control must be xonxoff, rtscts or none, not {flow!r}")
        self.ch = channel
        self.ident = ident
        self.timers = timers or Timers()
        self.gaps = gaps
        self.flow = flow
        self.max_rate = max_rate
        self.progress = progress or (lambda text: None)
        self.status = status
        self.dial_timeout = dial_timeout
        self.answer_timeout = answer_timeout
        self.ecm = ecm
        self.ecm_frame_size = ecm_frame_size
        self.rerender = rerender
        self.coding = coding   # None: the fewest bits among what both ends take; "mh" / "mr" / "mmr": at most that
        self.tx_codes: set[int] = set()
        self.rx_codes: set[int] = set()
        self._reset_call()

    # -- set-up ---------------------------------------------------------------------------------------
    def _reset_call(self) -> None:
        self.engine: Engine | None = None
        self.result: CallResult | None = None
        self._pages: list[Page] = []
        self._implied: str | None = None     # "frh" after ATD, "fth" after ATA, "armed": +FRH=3 sent
        self._last = "rx"                    # what the modem did last: rx, frames, tcf, page
        self._tick_from = time.monotonic()
        self._rx_pages: dict[int, Page] = {}
        self._fcs = None                     # None: unknown; False: this modem omits the FCS
        self._hung_up = False
        self._rx_flow = None

    def initialize(self) -> None:
        """Wake the modem, echo off, verbose results, Class 1; learn its modulations."""
        ch = self.ch
        ch.set_line("dtr", True)
        self._set_flow(rx=False)
        ch.drain(0.05)
        first = ch.command("AT", timeout=COMMAND_TIMEOUT)
        if not first.ok:   # a modem left in data mode or half a line typed: try once more
            ch.drain(0.2)
            ch.check("AT", timeout=COMMAND_TIMEOUT)
        ch.check("ATE0V1", timeout=COMMAND_TIMEOUT)
        ch.check("AT+FCLASS=1", timeout=COMMAND_TIMEOUT)
        self.tx_codes = self._query_codes("AT+FTM=?")
        self.rx_codes = self._query_codes("AT+FRM=?")

    def _query_codes(self, command: str) -> set[int]:
        try:
            codes = _codes(self.ch.query(command, timeout=COMMAND_TIMEOUT))
        except ModemError as exc:
            self.ch.transcript.note(f"{command} not answered ({exc.reason}); assuming V.27ter/V.29/V.17")
            codes = set()
        return codes or set(_FAMILIES[0][1])

    def _capabilities(self, codes: set[int]) -> DIS:
        if self.max_rate is not None:
            codes = {c for c in codes if c == 3 or _rate_of(c) <= self.max_rate}
        return DIS(modems=modem_family(codes), fine=True, two_d=True, superfine=True, min_scan_code=7,
                   ecm=self.ecm, t6=self.ecm)

    # -- the two roles ---------------------------------------------------------------------------------
    def send(self, number: str, pages: list[Page]) -> CallResult:
        """Dial ``number`` and send ``pages`` (one document). Never raises for line events."""
        if not pages:
            raise ValueError("nothing to send: no pages")
        if not DIAL_CHARS.match(number):
            raise ValueError(f"not a dial string: {number!r} (digits, + * # , and T P W only)")
        self._reset_call()
        self._pages = list(pages)
        return self._call(CallResult(role="calling", completion=Completion.CANCELLED, pages_total=len(pages)),
                          self._place, number)

    def receive(self, *, rings: int = 1, wait: float | None = None) -> CallResult:
        """Wait for a call (at most ``wait`` seconds; None: for ever), answer after ``rings`` RINGs
        and receive the fax. The accepted pages are in ``result.received``."""
        self._reset_call()
        return self._call(CallResult(role="answering", completion=Completion.NO_CARRIER), self._answer, rings, wait)

    def _call(self, result: CallResult, body, *args) -> CallResult:
        """Run one role's ``body``; a local failure ends the engine; ATH0 and the times in any case."""
        start = time.monotonic()
        self.result = result
        try:
            self.initialize()
            body(result, *args)
        except KeyboardInterrupt:
            self._abandon(Completion.CANCELLED, "interrupted by the user")
            raise
        except ModemError as exc:
            self._abandon(Completion.LINE_DROPPED, f"the modem failed: {exc.reason}")
        finally:
            self._finish(result, start)
        return result

    def _place(self, result: CallResult, number: str) -> None:
        first = self._pages[0]
        config = StationConfig(ident=self.ident, capabilities=self._capabilities(self.tx_codes),
                               resolution=first.resolution, width=first.width, coding=self.coding or "mmr",
                               prefer=None if self.coding else coding_order(self._pages), ecm=self.ecm, ecm_frame_size=self.ecm_frame_size,
                               timers=self.timers)
        self.engine = Engine(Role.CALLING, config)
        self.ch.transcript.note(f"dialling {number}: {len(self._pages)} page(s)")
        self._report("dialing")
        response = self._dial(number)
        if response.result != "CONNECT":
            result.completion = PHASE_A.get(response.result, Completion.NO_CARRIER)
            result.detail = response.text or response.result
            result.reason = f"{result.completion.value} ({result.detail})"
            return
        self._implied = "frh"
        self._run()

    def _answer(self, result: CallResult, rings: int, wait: float | None) -> None:
        config = StationConfig(ident=self.ident, capabilities=self._capabilities(self.rx_codes), timers=self.timers,
                               ecm=self.ecm)
        self.engine = Engine(Role.ANSWERING, config)
        if not self._await_rings(max(1, rings), wait):
            result.reason, result.detail = "no call", "no RING"
            return
        response = self.ch.command("ATA", timeout=self.answer_timeout)
        if response.result != "CONNECT":
            result.detail = response.text or response.result
            result.reason = f"the call went away while answering ({result.detail})"
            return
        self._implied = "fth"
        self._run()

    def _dial(self, number: str) -> Response:
        ch = self.ch
        ch.transcript.tx(f"ATD{number}")
        ch.write(f"ATD{number}\r".encode("ascii"))
        response = self._result_until(time.monotonic() + self.dial_timeout, f"ATD{number}")
        if response is None:
            response = ch.abort(timeout=COMMAND_TIMEOUT)
            if response.result != "CONNECT":
                return Response(command="ATD", result="NO ANSWER", text=f"no answer within {self.dial_timeout:g} s")
        if response.result == "ERROR":
            raise ModemError(f"the modem refused to dial {number!r} (ERROR)")
        return response

    def _await_rings(self, rings: int, wait: float | None) -> bool:
        deadline = None if wait is None else time.monotonic() + wait
        heard = 0
        while heard < rings:
            step = 5.0 if deadline is None else min(5.0, deadline - time.monotonic())
            if step <= 0:
                return False
            try:
                response = self.ch.wait_result(timeout=step, finals=("RING",))
            except ModemError as exc:
                if not exc.reason.startswith("no final result code"):
                    raise   # the port went away or the modem babbles: not a quiet line
                continue
            if response.result == "RING":
                heard += 1
                self.progress(f"RING {heard}/{rings}")
        return True

    # -- the engine pump ------------------------------------------------------------------------------
    def _feed(self, event) -> list:
        try:
            return self.engine.handle(event)
        except RemoteProtocolError as exc:
            self.ch.transcript.note(f"engine: far end broke T.30: {exc.reason}")
            return self.engine.handle(Abort(completion=Completion.PROTOCOL_ERROR, reason=exc.reason))

    def _run(self) -> None:
        queue = deque(self._feed(Start()))
        while queue:
            act = queue.popleft()
            try:
                more = self._do(act)
            except _LineDown as down:
                self.ch.transcript.note(f"line dropped: {down}")
                more = self._feed(LineDropped())
                if more:
                    queue = deque()   # nothing more goes out on a dead line
                # else the engine had already finished: its Hangup / CallFinished still follow
            if isinstance(act, CallFinished):
                return
            if more:
                queue.extend(more)
        raise ModemError("the T.30 engine stopped without finishing the call")

    def _abandon(self, completion: Completion, reason: str) -> None:
        """End the engine after a local failure: no more transmissions, just the hang-up."""
        self.ch.transcript.note(f"abandoning the call: {reason}")
        if self.engine is None:
            self.result.completion, self.result.reason = completion, reason
            return
        if self.engine.completion is not None:
            return
        try:
            actions = self.engine.handle(Abort(completion=completion, reason=reason))
        except Exception:  # the engine refusing an Abort would be a bug; the call still ends
            actions = [CallFinished(completion=completion, pages=self.engine.pages, reason=reason)]
        for act in actions:
            if isinstance(act, (PageResult, Negotiated, CallFinished)):
                self._do(act)

    def _finish(self, result: CallResult, start: float) -> None:
        self._final_hangup()
        if self.engine is not None:
            result.remote_ident = self.engine.remote_ident
            result.ppr = self.engine.pprs
            if result.role == "answering":
                result.pages_total = len(result.received)
        result.seconds = time.monotonic() - start

    def _do(self, act):
        if isinstance(act, SendFrames):
            self._send_frames(act.frames)
        elif isinstance(act, SendTcf):
            self._send_high_speed(act.modulation, bytes(act.octets), "TCF")
        elif isinstance(act, SendPage):
            self._report("transmitting")
            self._send_high_speed(act.modulation, act.data, f"page {act.number}")
        elif isinstance(act, ReceiveFrames):
            return self._wait_frames(act)
        elif isinstance(act, ReceiveTcf):
            return self._wait_high_speed(act, tcf=True)
        elif isinstance(act, (ReceivePage, ReceiveBlock)):
            return self._wait_high_speed(act, tcf=False)
        elif isinstance(act, SendBlock):
            self._report("transmitting")
            self._send_block(act)
        elif isinstance(act, PageData):
            self._page_data(act)
        elif isinstance(act, RequestPage):
            return self._supply(act)
        elif isinstance(act, Negotiated):
            self.result.negotiated.append(act.dcs)
            self.ch.transcript.note(f"negotiated: {act.dcs}" + (f" with {act.remote_ident!r}" if act.remote_ident else ""))
            who = f" (remote {act.remote_ident})" if act.remote_ident else ""
            self.progress(f"negotiated {act.dcs.rate}, {act.dcs.resolution.name.lower()}, "
                          f"{act.dcs.coding.upper()}, {act.dcs.width.pels} pels, {act.dcs.min_scan_ms} ms/line"
                          f"{', ECM' if act.dcs.ecm else ''}{who}")
        elif isinstance(act, PageResult):
            self._page_result(act)
        elif isinstance(act, Hangup):
            self._hangup()
        elif isinstance(act, CallFinished):
            self.result.completion = act.completion
            self.result.reason = act.reason
            self.ch.transcript.note(f"call finished: {act.completion.name}, {act.pages} page(s): {act.reason}")
        else:
            raise ModemError(f"the T.30 engine asked for an unknown action {act!r}")
        return None

    def _page_result(self, act: PageResult) -> None:
        self.result.results.append(PageReport(act.number, act.response.name, act.confirmed))
        if self.engine.role is Role.ANSWERING and act.confirmed and act.number in self._rx_pages:
            page = self._rx_pages.pop(act.number)
            self.result.received.append(page)
        state = "confirmed" if act.confirmed else "NOT confirmed"
        self.ch.transcript.note(f"page {act.number}: {act.response.name} ({state})")
        verb = "receiver answered" if self.engine.role is Role.CALLING else "we answered"
        self.progress(f"page {act.number}: {verb} {act.response.name} ({state})")
        if self.engine.role is Role.CALLING:
            self._report("transmitting")

    def _report(self, state: str) -> None:
        if self.status is None:
            return
        try:
            self.status(state, self.result.confirmed_pages)
        except Exception as exc:   # the caller's bookkeeping must not break the call
            self.ch.transcript.note(f"status callback failed: {exc!r}")

    def _supply(self, act: RequestPage) -> list:
        p = act.params
        rerender = (lambda res: self.rerender(act.number, res)) if self.rerender else None
        page = fit_page(self._pages[act.number - 1], p.width, p.resolution, rerender=rerender)
        data = codec.encode(page, p.coding, min_bits=p.min_bits, bit_order="lsb")
        following = "page" if act.number < len(self._pages) else "end"
        self.ch.transcript.note(f"page {act.number}: {len(data)} octets {p.coding.upper()}, min {p.min_bits} bits/line")
        return self._feed(PageSupplied(data=data, following=following))

    # -- transmitting ----------------------------------------------------------------------------------
    def _set_flow(self, *, rx: bool) -> None:
        """Host flow control for the direction about to be used (see the module docstring)."""
        if self._rx_flow is rx:
            return
        first = self._rx_flow is None
        self._rx_flow = rx
        if self.flow == "xonxoff":
            self.ch.flow_control("none" if rx else "xonxoff")
        elif first:
            self.ch.flow_control(self.flow)

    def _before_tx(self, kind: str, last_fcf: FCF | None = None) -> bool:
        """The gap before a transmission; True when the transmit command is already implied (ATA)."""
        self._disarm()
        self._set_flow(rx=False)
        if self._implied == "fth":
            self._implied = None
            return True
        if self._last == "rx":
            gap = self.gaps.switch
        elif kind == "tcf":
            gap = self.gaps.tcf
        elif self._last == "page":
            gap = self.gaps.eop if last_fcf is FCF.EOP else self.gaps.ppm
        else:
            gap = None
        if gap:
            self._silence(gap)
        return False

    def _silence(self, command: str) -> None:
        self.ch.transcript.tx(command)
        self.ch.write(command.encode("ascii") + b"\r")
        response = self._result_until(time.monotonic() + COMMAND_TIMEOUT, command)
        if response is None:   # +FRS on a line that never falls silent: stop waiting, go on
            response = self.ch.abort(timeout=COMMAND_TIMEOUT)
        self._expect(response, ("OK",), command)

    def _expect(self, response: Response, wanted, what: str) -> None:
        if response.result in wanted:
            return
        if response.result == "NO CARRIER":
            raise _LineDown(f"NO CARRIER in answer to {what}")
        raise ModemError(f"the modem answered {response.text or response.result!r} to {what}, expected "
                         f"{' or '.join(wanted)}")

    def _send_frames(self, frames) -> None:
        implied = self._before_tx("frames", frames[-1].fcf)
        ch = self.ch
        if not implied:
            self._expect(ch.command("AT+FTH=3", timeout=COMMAND_TIMEOUT), ("CONNECT",), "AT+FTH=3")
        for frame in frames:
            data = frame.encode()
            ch.transcript.note(f"frame out: {frame}")
            ch.send_data(data, what=f"{frame.fcf.name} frame")
            timeout = FRAME_TIMEOUT + len(data) * 8 / 300
            self._expect(ch.wait_result(timeout=timeout), ("OK",) if frame.final else ("CONNECT",),
                         f"the {frame.fcf.name} frame")
        self._last = "frames"

    def _send_high_speed(self, modulation, data: bytes, what: str) -> None:
        kind = "tcf" if what == "TCF" else "page"
        self._before_tx(kind)
        ch = self.ch
        command = f"AT+FTM={modulation.class1_code}"
        self._expect(ch.command(command, timeout=COMMAND_TIMEOUT), ("CONNECT",), command)
        seconds = len(data) * 8 / modulation.rate.bps
        port = ch.port
        saved = getattr(port, "write_timeout", None)
        try:
            try:
                port.write_timeout = seconds + MARGIN
            except Exception:
                pass
            ch.send_data(data, what=f"{what} at {modulation}")
        finally:
            try:
                port.write_timeout = saved
            except Exception:
                pass
        self._expect(ch.wait_result(timeout=seconds + MARGIN), ("OK",), f"{what} data")
        self._last = kind

    # -- receiving -------------------------------------------------------------------------------------
    def _result_until(self, deadline: float, command: str = "") -> Response | None:
        """The next final result code, or None when ``deadline`` passes first."""
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            return self.ch.wait_result(timeout=left, command=command)
        except ModemError:
            if time.monotonic() >= deadline - 0.01:
                return None
            raise

    def _deadline(self, act) -> float:
        left = self.engine.next_timeout_ms
        if left is None:
            left = act.timeout_ms
        return time.monotonic() + left / 1000 + 0.02

    def _tick(self) -> list:
        now = time.monotonic()
        ms = max(0, math.ceil((now - self._tick_from) * 1000))
        self._tick_from = now
        return self._feed(TimePassed(ms=ms))

    def _wait_frames(self, act: ReceiveFrames) -> list:
        self._set_flow(rx=True)
        self._tick_from = time.monotonic()
        while True:
            event = self._frh(self._deadline(act))
            if event is not None:
                actions = self._feed(event)
                if actions:
                    return actions
            actions = self._tick()
            if actions:
                return actions

    def _frh(self, deadline: float):
        """One ``+FRH=3``: a FrameReceived / BadFrame event, or None (timeout, lost frame, +FCERROR)."""
        ch = self.ch
        self._last = "rx"
        if self._implied == "frh":   # ATD's CONNECT already came: the first frame follows
            self._implied = None
            response = Response(command="ATD", result="CONNECT")
        else:
            if self._implied == "armed":   # issued as soon as the page's carrier ended
                self._implied = None
            else:
                self._arm_frh()
            response = self._result_until(deadline, "AT+FRH=3")
            if response is None:
                response = ch.abort(timeout=COMMAND_TIMEOUT)
                if response.result != "CONNECT":
                    return None
        if response.result == "+FCERROR":
            time.sleep(FCERROR_PAUSE)
            return None
        if response.result == "OK":
            return None
        if response.result != "CONNECT":
            self._expect(response, ("CONNECT",), "AT+FRH=3")
        got = ch.read_data_or_result(timeout=FRAME_TIMEOUT, limit=hdlc.MAX_FRAME, what="frame")
        if isinstance(got, Response):
            if got.result == "NO CARRIER":   # the frame was lost in noise: no response, T4 will tell
                ch.transcript.note("frame lost (CONNECT then NO CARRIER)")
                return None
            if got.result in ("ERROR", "OK"):
                return BadFrame(reason=f"the modem said {got.result} instead of a frame")
            raise ModemError(f"the modem said {got.text!r} instead of a frame")
        status = ch.wait_result(timeout=FRAME_TIMEOUT)
        return self._frame_event(got, status)

    def _disarm(self) -> None:
        """Cancel a +FRH=3 issued ahead when the engine wants something else after all."""
        if self._implied != "armed":
            return
        self._implied = None
        response = self.ch.abort(timeout=COMMAND_TIMEOUT)
        if response.result == "CONNECT":   # a frame came just then: read it and let it go
            self.ch.read_data_or_result(timeout=FRAME_TIMEOUT, limit=hdlc.MAX_FRAME, what="frame (ignored)")
            self.ch.wait_result(timeout=FRAME_TIMEOUT)

    def _arm_frh(self) -> None:
        self.ch.transcript.tx("AT+FRH=3")
        self.ch.write(b"AT+FRH=3\r")

    def _frame_event(self, raw: bytes, status: Response):
        if status.result not in ("OK", "ERROR", "NO CARRIER"):
            raise ModemError(f"the modem answered {status.text!r} after a frame")
        if status.result == "ERROR":
            return BadFrame(reason=f"bad FCS (modem): {raw.hex(' ')}")
        try:
            if self._fcs is not False and hdlc.fcs_ok(raw):
                self._fcs = True
                frame = hdlc.parse_frame(raw)
            elif self._fcs is not True:
                frame = hdlc.parse_frame(raw, fcs=False)   # a modem that omits the FCS (fax-protocol.md §3.2.6)
                if self._fcs is None:
                    self._fcs = False
                    self.ch.transcript.note("this modem passes frames without their FCS")
            else:
                return BadFrame(reason=f"bad FCS: {raw.hex(' ')}")
        except FrameError as exc:
            return BadFrame(reason=exc.reason)
        self.ch.transcript.note(f"frame in: {frame}")
        return FrameReceived(frame=frame)

    def _wait_high_speed(self, act, *, tcf: bool) -> list:
        """+FRM for TCF or a page; V.21 instead (+FCERROR) hands over to +FRH."""
        self._disarm()
        self._set_flow(rx=True)
        self._tick_from = time.monotonic()
        ch = self.ch
        command = f"AT+FRM={act.modulation.class1_code}"
        fcerrors = 0
        while True:
            self._last = "rx"
            ch.transcript.tx(command)
            ch.write(command.encode("ascii") + b"\r")
            response = self._result_until(self._deadline(act), command)
            if response is None:
                response = ch.abort(timeout=COMMAND_TIMEOUT)
            if response.result == "+FCERROR" and self._frm_persist(act, fcerrors):
                fcerrors += 1
                continue
            if response.result == "+FCERROR":
                actions = self._feed(CarrierUp(high_speed=False))
                if actions:
                    return actions
            elif response.result == "CONNECT":
                return self._take_data(act, tcf=tcf)
            elif response.result != "OK":
                self._expect(response, ("CONNECT",), command)
            actions = self._tick()
            if actions:
                return actions

    def _take_data(self, act, *, tcf: bool) -> list:
        ch = self.ch
        early: list = []
        if not tcf:
            early = self._feed(CarrierUp(high_speed=True))
        data = ch.read_data(timeout=24 * 3600, idle=DATA_IDLE, limit=DATA_LIMIT,
                            what="TCF" if tcf else f"page {act.number}")
        end = ch.wait_result(timeout=COMMAND_TIMEOUT)
        if end.result not in ("NO CARRIER", "OK"):
            raise ModemError(f"the modem answered {end.text!r} after high-speed data")
        if early:
            return early
        if not tcf:
            # The post-page command follows the page within ~1 s of flags: listen for it before
            # decoding the page (the engine's next wait after PageReceived is always ReceiveFrames).
            self._arm_frh()
            self._implied = "armed"
            self._last = "rx"
        if tcf:
            zeros = data.count(0)
            ch.transcript.note(f"TCF: {len(data)} octets, {len(data) - zeros} non-zero")
            return self._feed(TcfReceived(data=data))
        if isinstance(act, ReceiveBlock):
            return self._feed(self._block_event(act, data))
        p = act.params
        try:
            page, stats = codec.decode(data, p.coding, p.width, bit_order="lsb",
                                       xres=float(p.resolution.xdpi), yres=float(p.resolution.ydpi))
            self._rx_pages[act.number] = page
        except CodecError as exc:
            ch.transcript.note(f"page {act.number} undecodable: {exc.reason}")
            stats = _Stats()
        ch.transcript.note(f"page {act.number}: {len(data)} octets, {stats.rows} rows, {stats.bad_rows} bad, "
                           f"{stats.consecutive_bad_rows} consecutive bad")
        return self._feed(PageReceived(stats=stats))

    # -- hanging up ------------------------------------------------------------------------------------
    def _hangup(self) -> None:
        if self._hung_up:
            return
        self._hung_up = True
        self._set_flow(rx=False)
        try:
            self._disarm()
            response = self.ch.command("ATH0", timeout=COMMAND_TIMEOUT)
            if response.result not in ("OK", "NO CARRIER"):
                self.ch.transcript.note(f"ATH0 answered {response.text!r}")
        except ModemError as exc:
            self._hung_up = False
            self.ch.transcript.note(f"ATH0 failed: {exc.reason}")

    def _final_hangup(self) -> None:
        """ATH0 whatever happened: abort a pending receive first, drop DTR if nothing answers."""
        if self._hung_up:
            return
        ch = self.ch
        try:
            ch.write(b"\x18")          # ends a +FRH / +FRM / +FRS still running (T.31 §8.3)
            time.sleep(0.05)
            ch.drain(0.2)
            self._hangup()
        except ModemError as exc:
            ch.transcript.note(f"hang-up failed: {exc.reason}")
        if not self._hung_up and ch.set_line("dtr", False):
            time.sleep(0.5)
            ch.set_line("dtr", True)
            self._hung_up = True


def _rate_of(code: int) -> int:
    return {24: 2400, 48: 4800, 72: 7200, 73: 7200, 74: 7200, 96: 9600, 97: 9600, 98: 9600,
            121: 12000, 122: 12000, 145: 14400, 146: 14400}.get(code, 0)


# --- opening a device ---------------------------------------------------------------------------------

def _transcript(log: str | os.PathLike | None, kind: str) -> Transcript:
    """``log`` if given (always kept); else a file in the temporary directory kept only on failure."""
    if log is not None:
        return Transcript(log, keep="always")
    fd, path = tempfile.mkstemp(prefix=f"faxpipe-{kind}-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".log")
    os.close(fd)
    return Transcript(path, keep="failed")


def _open(device: str):
    from drivers.at import open_port

    try:
        return open_port(device, baudrate=115200 if not device.lower().startswith("softmodem:") else 19200)
    except Exception as exc:   # serial.SerialException, OSError
        raise ModemError(f"cannot open the modem {device!r}: {exc}") from exc


def _on_device(device: str, log, kind: str, call) -> CallResult:
    transcript = _transcript(log, kind)
    port = None
    result = None
    try:
        port = _open(device)
        result = call(ATChannel(port, transcript=transcript))
        result.transcript = transcript.path
        return result
    finally:
        transcript.close(failed=result is None or not result.ok)
        if port is not None:
            port.close()


def send(device: str, number: str, pages: list[Page], *, log=None, **options) -> CallResult:
    """Open ``device``, send ``pages`` to ``number``, close; the transcript is kept if the call failed."""
    return _on_device(device, log, "send", lambda channel: Class1Modem(channel, **options).send(number, pages))


def resend(device: str, number: str, pages: list[Page], previous: CallResult, *, attempt: int = 1,
           ecm: bool = True, log=None, **options) -> CallResult:
    """Send again only the pages ``previous`` did not get confirmed, with the default retry policy
    of :func:`drivers.class1_ecm.retry_plan` (9 600 bit/s from the first retry, ECM toggled from the
    second). ``result.document_pages`` maps this call's pages to the document's page numbers;
    ``result.confirmed_document_pages`` lists those confirmed now."""
    plan = retry_plan(previous, attempt=attempt, ecm=ecm, max_rate=options.pop("max_rate", None))
    if not plan.pages:
        raise ValueError("every page was confirmed already: nothing to resend")
    result = send(device, number, [pages[n - 1] for n in plan.pages], log=log, **options, **plan.options)
    result.document_pages = plan.pages
    return result


def receive(device: str, *, log=None, rings: int = 1, wait: float | None = None, **options) -> CallResult:
    """Open ``device``, answer one call, receive; the transcript is kept if the call failed."""
    return _on_device(device, log, "receive",
                      lambda channel: Class1Modem(channel, **options).receive(rings=rings, wait=wait))


def send_fax(modem, number: str, tiff_path: str, transcript_path: str, progress=None,
             first_page: int = 1, attempt: int = 1):
    """The worker's sender (:class:`faxpipe.jobs.sender.Sender`): ``modem`` is a
    :class:`faxpipe.jobs.config.ModemConfig`; the TIFF-F's pages from ``first_page`` on go out
    (a retry sends only those earlier calls did not get confirmed), the outcome comes back with
    the document's page numbers. Attempt 2 on runs at 9 600 bit/s at most and attempt 3 on with
    ECM toggled, the policy of :func:`drivers.class1_ecm.retry_plan`.
    ``progress(state, pages)``: dialing / transmitting with the pages confirmed so far."""
    from faxpipe import tiff
    from faxpipe.jobs.sender import CallOutcome
    from faxpipe.jobs.sender import PageResult as JobPage

    if modem.fax_class != "1":
        raise NotImplementedError(f"modem {modem.name}: Class {modem.fax_class} is drivers.class2's")
    pages = [p.page for p in tiff.read(tiff_path)][first_page - 1:]
    max_rate = modem.max_rate if attempt < 2 else min(modem.max_rate, 9600)
    ecm = modem.ecm if attempt < 3 else not modem.ecm
    offset = first_page - 1
    report = None if progress is None else (lambda state, sent: progress(state, offset + sent))
    result = send(modem.device, number, pages, log=transcript_path, ident=modem.station_id,
                  max_rate=max_rate, ecm=ecm, status=report)
    final: dict[int, JobPage] = {}
    for r in result.results:   # a page resent after RTN: its last answer, confirmed if any was
        was = final.get(r.number)
        final[r.number] = JobPage(page=offset + r.number, confirmed=r.confirmed or bool(was and was.confirmed),
                                  result=r.response)
    return CallOutcome(
        completion=result.completion,
        pages=tuple(final[n] for n in sorted(final)),
        remote_csid=result.remote_ident or None,
        detail=result.detail or result.reason or None,
        pages_total=offset + len(pages),
    )


def softmodem_call(pages: list[Page], *, rate_scale: float = 1.0, tx_faults: str = "", rx_faults: str = "",
                   timers: Timers | None = None, tx_log=None, rx_log=None, progress=None,
                   rx_progress=None, wait: float = 60.0, tx_options: dict | None = None,
                   rx_options: dict | None = None) -> tuple[CallResult, CallResult]:
    """One call between two software modems in this process: a sender on ``softmodem://100`` and a
    receiver on ``softmodem://200`` of a new exchange (``rate_scale``: line time runs that many times
    faster). ``tx_faults`` / ``rx_faults``: URL options of drivers.softmodem (``&ber=1e-4&seed=8``).
    ``tx_options`` / ``rx_options``: more :class:`Class1Modem` options (``ecm=False``, ``max_rate=9600``).
    Returns (the sender's result, the receiver's result); transcripts go to ``tx_log`` / ``rx_log``
    (kept) or stay in memory."""
    import threading

    from drivers.at import open_port

    name = f"call-{os.getpid()}-{next(_CALLS)}-{time.monotonic_ns()}"
    base = f"softmodem://{{}}?exchange={name}&rate_scale={rate_scale:g}&ring_interval=2"
    rx_port = open_port(base.format(200) + rx_faults)
    tx_port = open_port(base.format(100) + tx_faults)
    out: dict = {}

    def answer():
        channel = ATChannel(rx_port, transcript=Transcript(rx_log) if rx_log else None)
        try:
            out["rx"] = Class1Modem(channel, ident="+1 555 0199", timers=timers, progress=rx_progress,
                                    **(rx_options or {})).receive(rings=1, wait=wait)
        finally:
            channel.close(failed="rx" not in out or not out["rx"].ok)

    thread = threading.Thread(target=answer, name="softmodem-call-receiver", daemon=True)
    thread.start()
    channel = ATChannel(tx_port, transcript=Transcript(tx_log) if tx_log else None)
    tx = None
    try:
        tx = Class1Modem(channel, ident="+1 555 0100", timers=timers, progress=progress,
                         **(tx_options or {})).send("200", pages)
    finally:
        channel.close(failed=tx is None or not tx.ok)
        thread.join(wait + 30)
        tx_port.close()
        rx_port.close()
    if "rx" not in out:
        raise ModemError("the receiving software modem did not finish its call")
    return tx, out["rx"]
