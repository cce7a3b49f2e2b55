"""drivers.softmodem.fax2 — the Class 2 (SP-2388) and Class 2.0 (EIA-592 / ITU-T T.32) personalities.

The modem runs faxpipe's own T.30 engine (:mod:`faxpipe.t30`) and speaks the Class 2 / 2.0 command
sets to the host; on the line it is indistinguishable from a Class 1 host behind the Class 1
personality (:mod:`.fax2line`), so every pairing of classes works. ``+FCLASS=?`` lists the classes
this modem offers (``0,1,2,2.0`` unless the ``class=`` option narrows them); ``+FCLASS=2`` /
``+FCLASS=2.0`` select a personality at run time.

What the host sees (T.32 §8; Class 2 names in brackets):

``+FCC`` [``+FDCC``]   DCE capabilities ``VR,BR,WD,LN,DF,EC,BF,ST``; setting them sets ``+FIS`` too.
``+FIS`` [``+FDIS``]   session parameters: the DIS we answer with, and what we send.
``+FLI`` [``+FLID``]   local identity (CSI / TSI).  ``+FCR=1`` able to receive.
``+FBO`` [``+FBOR``]   bit order: bit 0 reverses phase C data (both directions).
``+FNR=r,t,i,n``       2.0 only: report remote parameters / negotiated ones / identities.
``ATD``                dial; ``+FCO`` [``+FCON``], ``+FCI:`` [``+FCSI:``], ``+FIS:`` [``+FDIS:``], OK
                       once the remote DIS is in (T.30 phase B waits for ``+FDT``).
``+FDT``               [DCS, TCF, CFR, ``+FCS:`` [``+FDCS:``]] ``CONNECT``; Class 2 then sends XON and
                       the host may send data; 2.0 takes data at once. Data is DLE-transparent and
                       paced at the line rate (flow control). Class 2 ends it with DLE ETX (→ OK,
                       then ``+FET=0|1|2`` → ``+FPTS:…`` OK); 2.0 with DLE , / DLE ; / DLE .
                       (MPS / EOM / EOP → ``+FPS:…`` OK). The modem appends RTC. After EOP:
                       DCN, ``+FHNG:0`` [``+FHS:00``], OK.
``ATA``                answer: ``+FCO``, ``+FTI:``, ``+FCS:``, OK once CFR is sent.
``+FDR``               ``CONNECT``; after DC2 (or DC1) from the host the page data, DLE ETX, then
                       ``+FPS:`` [``+FPTS:``] ``ppr,lc,blc,cblc,lbc``, ``+FET:n``, OK. The next
                       ``+FDR`` answers the post-page command (``+FPS=n`` / ``+FPTS=n`` overrides
                       the modem's copy-quality verdict) and goes on; after EOP it reports the
                       hang-up code and OK. 2.0 passes two data DLEs as DLE SUB.
``+FKS`` [``+FK``]     end the session (DCN).
Hang-up codes: ``+FHNG:<decimal>`` (Class 2), ``+FHS:<hex>`` (2.0) — :mod:`drivers.class2params`.

Quirks of field modems, chosen per modem (``quirks=`` URL option, comma list): ``reverse_rx`` —
received phase C data goes to the host bit-reversed whatever ``+FBO`` says (what efax expects of
Class 2 modems); ``reverse_tx`` — data from the host is taken bit-reversed; ``host_rtc`` — the
modem does not append RTC (the host must); ``bogus_counts`` — line counts in ``+FPTS:`` / ``+FPS:``
are zero.
"""

from __future__ import annotations

import time

from drivers.at import DLE, ETX, SUB, dle_stuff
from drivers.class2params import (CLASS2, CLASS20, FET_FOLLOWING, PAGE_END_DLE, PPR_CODE, RANGES, Dialect,
                                  Params, class2_code)
from faxpipe.codec import DecodeStats, decode
from faxpipe.errors import CodecError
from faxpipe.t30.completion import Completion, T30Error
from faxpipe.t30.engine import Engine, Role, State, StationConfig, copy_quality_ok
from faxpipe.t30.events import (Abort, BadFrame, CallFinished, CarrierUp, FrameReceived, Hangup, LineDropped,
                                Negotiated, PageReceived, PageResult, PageSupplied, ReceiveFrames, ReceivePage,
                                ReceiveTcf, RequestPage, SendFrames, SendPage, SendTcf, Start, TcfReceived,
                                TimePassed)
from faxpipe.t30.frames import DIS, FCF, Frame, decode_ident

from .fax1 import text_reply
from .fax2line import Class2Line, reverse_bits, rtc_bytes

CLASS_TEXT = {0: "0", 1: "1", 2: "2", 20: "2.0"}
TEXT_CLASS = {v: k for k, v in CLASS_TEXT.items()}
QUIRKS = frozenset({"reverse_rx", "reverse_tx", "host_rtc", "bogus_counts"})
XON, DC2 = 0x11, 0x12
TRIGGER_WAIT = 2.0          # seconds for DC2 / DC1 after +FDR's CONNECT before sending anyway
DTE_STALL = 5.0             # seconds without page data from the host: underflow (code 43)
_PPMS = {FCF.MPS: 0, FCF.EOM: 1, FCF.EOP: 2, FCF.PRI_MPS: 3, FCF.PRI_EOM: 4, FCF.PRI_EOP: 5}
DONE = "DONE"


class Session:
    """One Class 2 / 2.0 call: the engine, where it paused, what the host still has to answer."""

    def __init__(self, call, engine: Engine, dialect: Dialect):
        self.call, self.engine, self.dialect = call, engine, dialect
        self.pause = ""            # "dis" | "request" | "sent" | "page" | "ppm" | "finished"
        self.held = None           # the DIS frame, or (stats, PPM frame), or page data
        self.streamed = False      # the next SendPage was already streamed from the host
        self.following = "end"
        self.page_rows = 0


class PageData:
    """DLE-framed page data from the host (SP-2388 / T.32 §8.3.3): DLE DLE is a data DLE; DLE ETX
    ends the page (Class 2); in 2.0 DLE , / DLE ; / DLE . end it with MPS / EOM / EOP too."""

    def __init__(self, class20: bool):
        self.class20 = class20
        self.done = False
        self.end = ""
        self.rest = b""
        self._dle = False

    def feed(self, chunk: bytes) -> bytes:
        out = bytearray()
        for i, b in enumerate(chunk):
            if self._dle:
                self._dle = False
                if b == DLE:
                    out.append(DLE)
                elif b == SUB and self.class20:
                    out += b"\x10\x10"
                elif b == ETX:
                    self.done, self.end = True, "ETX"
                elif self.class20 and bytes((b,)) in PAGE_END_DLE:
                    self.done, self.end = True, PAGE_END_DLE[bytes((b,))]
                if self.done:
                    self.rest = bytes(chunk[i + 1:])
                    return bytes(out)
            elif b == DLE:
                self._dle = True
            else:
                out.append(b)
        return bytes(out)


def _quoted(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def _ident(text: str) -> str:
    """A station identity the engine can send: digits, '+' and space, at most 20 characters."""
    return "".join(ch for ch in text if ch.isdigit() or ch in "+ ")[:20]


class Class2(Class2Line):
    """The +F commands of Class 2 / 2.0 and the T.30 engine behind them."""

    def _class2_reset(self) -> None:
        self.c2_caps = Params(df=0)      # T.32 defaults: MH, as efax expects of a fresh modem
        self.c2_session = Params(df=0)
        self.c2_local_id = ""
        self.c2_bo = 0
        self.c2_cr = 1
        self.c2_nr = (0, 0, 0, 0)
        self.c2_pts = None
        self._c2 = None
        self._c2_rx = None

    @property
    def _dialect(self) -> Dialect:
        return CLASS20 if self.fclass == 20 else CLASS2

    def _c2_active(self) -> bool:
        return self.fclass in (2, 20)

    # -- parameters ---------------------------------------------------------------------------------
    def _fclass(self, cmd):
        if cmd.op == "=?":
            self._info(",".join(["0"] + [c for c in ("1", "2", "2.0") if c in self.classes]))
        elif cmd.op == "?":
            self._info(CLASS_TEXT[self.fclass])
        elif cmd.op == "=" and cmd.value.strip() in TEXT_CLASS and (cmd.value.strip() in self.classes
                                                                   or cmd.value.strip() == "0"):
            self.fclass = TEXT_CLASS[cmd.value.strip()]
        else:
            return "ERROR"
        return None

    def _params(attr: str, dialects: tuple):
        def handler(self, cmd):
            if self.fclass not in dialects:
                return "ERROR"
            if cmd.op == "=?":
                self._info(RANGES)
            elif cmd.op == "?":
                self._info(str(getattr(self, attr)))
            elif cmd.op == "=":
                value = getattr(self, attr).update(cmd.value)
                setattr(self, attr, value)
                if attr == "c2_caps":      # T.32 §8.5.1.1: setting +FCC sets +FIS within it
                    self.c2_session = value
            else:
                return "ERROR"
            return None
        return handler

    def _number(attr: str, top: int, dialects: tuple):
        def handler(self, cmd):
            if self.fclass not in dialects:
                return "ERROR"
            if cmd.op == "=?":
                self._info(f"(0-{top})")
            elif cmd.op == "?":
                self._info(str(getattr(self, attr)))
            elif cmd.op == "=" and cmd.number <= top:
                setattr(self, attr, cmd.number)
            else:
                return "ERROR"
            return None
        return handler

    def _local_id(self, cmd):
        if not self._c2_active():
            return "ERROR"
        if cmd.op == "?":
            self._info(f'"{self.c2_local_id}"')
        elif cmd.op == "=?":
            self._info("(20)(32-127)")
        elif cmd.op == "=":
            self.c2_local_id = _quoted(cmd.value)[:20]
        else:
            return "ERROR"
        return None

    def _fnr(self, cmd):
        if self.fclass != 20:
            return "ERROR"
        if cmd.op == "=?":
            self._info("(0,1),(0,1),(0,1),(0,1)")
        elif cmd.op == "?":
            self._info(",".join(map(str, self.c2_nr)))
        elif cmd.op == "=":
            values = [v.strip() for v in cmd.value.split(",")] + ["0"] * 4
            if any(v not in ("", "0", "1") for v in values):
                return "ERROR"
            self.c2_nr = tuple(int(v or 0) for v in values[:4])
        else:
            return "ERROR"
        return None

    def _pts(self, cmd):
        if not self._c2_active():
            return "ERROR"
        if cmd.op == "=" and 1 <= cmd.number <= 5:
            self.c2_pts = cmd.number
            return None
        if cmd.op == "=?":
            self._info("(1-5)")
            return None
        return "ERROR"

    def _c2_accept(self, cmd):
        return None if self._c2_active() else "ERROR"

    def _fip(self, cmd):
        if self.fclass != 20:
            return "ERROR"
        self._class2_reset()
        return None

    def _action(kind: str):
        def handler(self, cmd):
            if not self._c2_active() or cmd.op not in ("", "="):
                return "ERROR"
            if kind == "FET" and (cmd.op != "=" or cmd.number not in FET_FOLLOWING):
                return "ERROR"
            getattr(self, "_c2_" + kind.lower())(cmd)
            return DONE
        return handler

    _both = (2, 20)
    EXTENDED = {
        "+FCLASS": _fclass,
        "+FDCC": _params("c2_caps", (2,)), "+FCC": _params("c2_caps", (20,)),
        "+FDIS": _params("c2_session", (2,)), "+FIS": _params("c2_session", (20,)),
        "+FLID": _local_id, "+FLI": _local_id,
        "+FBOR": _number("c2_bo", 3, (2,)), "+FBO": _number("c2_bo", 3, (20,)),
        "+FCR": _number("c2_cr", 1, _both), "+FNR": _fnr,
        "+FPTS": _pts, "+FPS": _pts, "+FIP": _fip,
        "+FDT": _action("FDT"), "+FET": _action("FET"), "+FDR": _action("FDR"),
        "+FK": _action("FK"), "+FKS": _action("FK"),
        "+FMFR": text_reply("faxpipe"), "+FMDL": text_reply("softmodem"), "+FREV": text_reply("0.1"),
    }
    EXTENDED.update(dict.fromkeys(("+FCQ", "+FCT", "+FPHCTO", "+FBUG", "+FSPL", "+FSP", "+FCIG", "+FPI", "+FNS",
                                   "+FTBC", "+FREL", "+FAP", "+FMINSP", "+FMS", "+FRQ", "+FBS", "+FECM",
                                   "+FCTCRTY", "+FIE", "+FPP", "+FRY"), _c2_accept))
    del _params, _number, _action, _both

    # -- reports ------------------------------------------------------------------------------------
    def _report(self, kind: str, text: str) -> None:
        """An information line, subject to +FNR in Class 2.0 (T.32 §8.5.1.12)."""
        if self.fclass == 20:
            gate = {"rpr": 0, "tpr": 1, "idr": 2, "nsr": 3}.get(kind)
            if gate is not None and not self.c2_nr[gate]:
                return
        self._info(text)

    def _c2_hangup_code(self, finished: CallFinished) -> int:
        """The SP-2388 decimal hang-up code for how the engine ended (T.32 Table 32)."""
        s = self._c2
        c = finished.completion
        calling = s.engine.role is Role.CALLING
        phase = s.phase
        if c is Completion.OK:
            return 0
        if c is Completion.CANCELLED:
            return 43 if s.underflow else 2
        if calling:
            ppm = {"page": 52, "end": 54, "document": 56}[s.following]
            table = {Completion.T1_EXPIRED: 11, Completion.INCOMPATIBLE: 21, Completion.NO_RESPONSE: 25,
                     Completion.TRAINING_FAILED: 27, Completion.NO_PPM_RESPONSE: ppm,
                     Completion.PROCEDURE_INTERRUPT: 58, Completion.PAGE_REJECTED: 50}
            if c in table:
                return table[c]
            if c is Completion.REMOTE_DCN:
                return 22 if phase == "B" else 51
            if c is Completion.PROTOCOL_ERROR:
                return 28 if phase == "B" else ppm + 1
            return {"B": 20, "C": 40}.get(phase, 50)
        table = {Completion.T1_EXPIRED: 74 if s.after_eom else 1, Completion.T2_EXPIRED: 73,
                 Completion.INCOMPATIBLE: 70, Completion.PROCEDURE_INTERRUPT: 103}
        if c in table:
            return table[c]
        if c is Completion.PROTOCOL_ERROR:
            return 72 if phase == "B" else 102
        return {"B": 70, "C": 90}.get(phase, 100)

    def _c2_report_hangup(self, finished: CallFinished) -> None:
        code = self._c2_hangup_code(finished)
        self._info(self._c2.dialect.format_hangup(class2_code(code, self._c2.dialect)))
        self._c2.pause = "finished"

    # -- the engine ---------------------------------------------------------------------------------
    def _c2_start(self, call, role: Role) -> Session:
        p = self.c2_session
        config = StationConfig(ident=_ident(self.c2_local_id),
                               capabilities=p.dis(ready_to_receive=bool(self.c2_cr) or role is Role.CALLING),
                               resolution=p.resolution, width=p.width, coding=p.coding if p.df != 3 else "mr")
        s = Session(call, Engine(role, config), self._dialect)
        s.phase, s.underflow, s.after_eom = "B", False, False
        self._c2, self._c2_rx = s, None
        self._info(s.dialect.connect)
        return s

    def _c2_feed(self, event) -> list:
        s = self._c2
        try:
            return s.engine.handle(event)
        except T30Error as exc:
            if s.engine.state is State.DONE:
                return []
            return s.engine.handle(Abort(completion=exc.completion, reason=str(exc)))

    def _c2_run(self, actions, *, hold_dis: bool = False):
        """Carry out engine actions until the host must act: ("dis", Frame), ("request", RequestPage),
        ("page", ReceivePage) or ("finished", CallFinished)."""
        s = self._c2
        queue = list(actions)
        while queue:
            act = queue.pop(0)
            call = s.call
            if isinstance(act, Negotiated):
                s.dcs = act.dcs
                s.phase = "B"
                if s.engine.role is Role.ANSWERING and act.remote_ident:
                    self._report("idr", f'{s.dialect.remote_tsi}:"{act.remote_ident}"')
                self._report("tpr", f"{s.dialect.negotiated}:{Params.from_dcs(act.dcs)}")
            elif isinstance(act, SendFrames):
                if any(f.fcf in _PPMS for f in act.frames):
                    s.phase = "D"
                if not self._l_send_frames(call, [f.encode() for f in act.frames]):
                    queue = self._c2_feed(LineDropped())
            elif isinstance(act, SendTcf):
                if not self._l_send_hs(call, act.modulation.class1_code, bytes(act.octets)):
                    queue = self._c2_feed(LineDropped())
            elif isinstance(act, SendPage):
                if s.streamed:
                    s.streamed = False
                elif not self._l_send_hs(call, act.modulation.class1_code, act.data):
                    queue = self._c2_feed(LineDropped())
            elif isinstance(act, ReceiveFrames):
                queue = self._c2_wait_frames(act, hold_dis)
                if queue and isinstance(queue[0], Frame):
                    return "dis", queue[0]
            elif isinstance(act, ReceiveTcf):
                queue = self._c2_wait_tcf(act)
            elif isinstance(act, RequestPage):
                s.phase = "C"
                return "request", act
            elif isinstance(act, ReceivePage):
                s.phase = "C"
                return "page", act
            elif isinstance(act, PageResult):
                s.last_result = act
            elif isinstance(act, Hangup):
                with self.cond:
                    if call.up:
                        self.exchange.end(call, f"{self.number} hung up (T.30 phase E)")
            elif isinstance(act, CallFinished):
                return "finished", act
        raise AssertionError("the T.30 engine stopped without a wait or CallFinished")

    def _c2_wait_frames(self, act: ReceiveFrames, hold_dis: bool) -> list:
        s = self._c2
        fed = time.monotonic()
        while True:
            left = s.engine.next_timeout_ms
            limit = left if left is not None else act.timeout_ms
            kind, item = self._l_recv_frame(s.call, fed + self._line_real(limit))
            now = time.monotonic()
            if kind == "timeout":
                actions = self._c2_feed(TimePassed(ms=limit))
                fed = now
                if actions:
                    return actions
                continue
            ms = min(self._line_ms(now - fed), max(limit - 1, 0))
            fed = now
            actions = self._c2_feed(TimePassed(ms=ms)) if ms else []
            if actions:
                return actions
            if kind == "gone":
                return self._c2_feed(LineDropped())
            if not item.ok:
                event = BadFrame(reason=item.reason)
            else:
                try:
                    frame = Frame.decode(item.payload)
                except T30Error as exc:
                    event = BadFrame(reason=str(exc))
                else:
                    if hold_dis and frame.fcf is FCF.DIS and s.engine.state is State.WAIT_DIS:
                        return [frame]
                    if frame.fcf is FCF.EOM:
                        s.after_eom = True
                    event = FrameReceived(frame=frame)
            actions = self._c2_feed(event)
            if actions:
                return actions

    def _c2_wait_tcf(self, act: ReceiveTcf) -> list:
        s = self._c2
        deadline = time.monotonic() + self._line_real(act.timeout_ms)
        kind, carrier = self._l_recv_hs(s.call, act.modulation.class1_code, deadline)
        if kind == "timeout":
            return self._c2_feed(TimePassed(ms=s.engine.next_timeout_ms or act.timeout_ms))
        if kind == "gone":
            return self._c2_feed(LineDropped())
        if kind == "v21":
            return self._c2_feed(CarrierUp(high_speed=False))
        return self._c2_feed(TcfReceived(data=self._l_collect(s.call, carrier, deadline + 10)))

    # -- calling: ATD, +FDT, +FET ---------------------------------------------------------------------
    def _c2_dial(self, call) -> None:
        """ATD in Class 2 / 2.0 (T.32 §8.3.1): phase B up to the remote DIS, reported, then OK."""
        self._c2_start(call, Role.CALLING)
        self._c2_after(self._c2_run(self._c2_feed(Start()), hold_dis=True))

    def _c2_after(self, outcome, *, page_result: bool = False) -> None:
        """Report where the engine paused and give the final result of the command."""
        s = self._c2
        kind, item = outcome
        if page_result and getattr(s, "last_result", None) is not None:
            self._c2_report_page(s.last_result)
        if kind == "dis":
            s.pause, s.held = "dis", item
            if s.engine.remote_ident:
                self._report("idr", f'{s.dialect.remote_csi}:"{s.engine.remote_ident}"')
            try:
                self._report("rpr", f"{s.dialect.remote_caps}:{Params.from_dis(DIS.decode(item.fif))}")
            except T30Error:
                pass
            self._result("OK")
        elif kind == "request":
            s.pause = "request"
            self._result("OK")
        elif kind == "page":
            s.pause, s.held_page = "page", item
            self._result("OK")
        else:
            self._c2_report_hangup(item)
            self._result("OK")

    def _c2_report_page(self, result: PageResult) -> None:
        s = self._c2
        ppr = PPR_CODE.get(result.response.name, 2)
        rows = 0 if "bogus_counts" in self.c2_quirks else s.page_rows
        self._info(f"{s.dialect.page_status}:{ppr},{rows},0,0,0")
        s.last_result = None

    def _c2_fdt(self, cmd) -> None:
        s = self._c2
        if s is None or s.engine.role is not Role.CALLING or s.pause not in ("dis", "request"):
            self._result("ERROR")
            return
        if s.pause == "dis":
            p = self.c2_session
            s.engine.config = StationConfig(ident=s.engine.config.ident, capabilities=p.dis(),
                                            resolution=p.resolution, width=p.width,
                                            coding=p.coding if p.df != 3 else "mr")
            outcome = self._c2_run(self._c2_feed(FrameReceived(frame=s.held)))
            if outcome[0] != "request":
                self._c2_after(outcome)
                return
        s.pause = ""
        dcs = s.dcs
        self._result("CONNECT")
        if s.dialect is CLASS2:
            self._emit(bytes((XON,)))       # SP-2388: the host waits for XON before sending data
        data, end = self._c2_take_page(s.call, Params.from_dcs(dcs), dcs.rate.class1_code(long_training=False))
        if data is None:
            s.underflow = end == "underflow"
            s.phase = "C"
            event = Abort(completion=Completion.CANCELLED, reason="DTE data underflow") if s.underflow \
                else LineDropped()
            self._c2_after(self._c2_run(self._c2_feed(event)))
            return
        s.held = data
        if end == "ETX":
            s.pause = "sent"
            self._result("OK")
            return
        self._c2_post_page(data, end)

    def _c2_fet(self, cmd) -> None:
        s = self._c2
        if s is None or s.pause != "sent":
            self._result("ERROR")
            return
        self._c2_post_page(s.held, FET_FOLLOWING[cmd.number])

    def _c2_post_page(self, data: bytes, following: str) -> None:
        s = self._c2
        s.following, s.streamed = following, True
        s.phase = "D"
        outcome = self._c2_run(self._c2_feed(PageSupplied(data=data, following=following)), hold_dis=True)
        self._c2_after(outcome, page_result=True)

    def _c2_take_page(self, call, params: Params, code: int):
        """Page data from the host onto the line, paced; (data as sent, end) or (None, why)."""
        carrier, bps, trained = self._l_start_hs(call, code)
        decoder = PageData(self.fclass == 20)
        reverse = bool(self.c2_bo & 1) != ("reverse_tx" in self.c2_quirks)
        sent = bytearray()
        piece = max(1, int(bps * self.exchange.rate_scale * 0.05 / 8))
        while not decoder.done:
            raw = self._take(max(time.monotonic(), trained) + DTE_STALL, limit=piece)
            if raw is None:
                self._stop(call, carrier)
                return None, "underflow"
            data = decoder.feed(raw)
            if reverse:
                data = reverse_bits(data)
            if data:
                sent += data
                if not self._l_put_hs(call, carrier, data, bps):
                    self._drain_block()
                    return None, "gone"
        self._unread(decoder.rest)
        if "host_rtc" not in self.c2_quirks:
            rtc = rtc_bytes(params.df == 1)
            sent += rtc
            if not self._l_put_hs(call, carrier, rtc, bps):
                return None, "gone"
        self._l_end_hs(call, carrier)
        if not call.up:
            return None, "gone"
        try:
            self._c2.page_rows = decode(bytes(sent), params.coding, params.width, bit_order="lsb").stats.rows
        except CodecError:
            self._c2.page_rows = 0
        return bytes(sent) or rtc_bytes(params.df == 1), decoder.end

    # -- answering: ATA, +FDR -----------------------------------------------------------------------
    def _c2_answer(self, call) -> None:
        """ATA in Class 2 / 2.0 (T.32 §8.3.2): phase B until CFR is sent, reported, then OK."""
        self._c2_start(call, Role.ANSWERING)
        self._c2_after(self._c2_run(self._c2_feed(Start())))

    def _c2_fdr(self, cmd) -> None:
        s = self._c2
        if s is None or s.engine.role is not Role.ANSWERING or s.pause not in ("page", "ppm"):
            self._result("ERROR")
            return
        if s.pause == "ppm":
            stats, frame = s.held
            if self.c2_pts is not None:     # the host's copy-quality verdict wins (+FPS= / +FPTS=)
                good = self.c2_pts in (1, 3, 5)
                stats = DecodeStats(rows=max(stats.rows, 1), bad_rows=0 if good else max(stats.rows, 1),
                                    consecutive_bad_rows=0, terminated=True, bytes_used=stats.bytes_used)
                self.c2_pts = None
            s.pause = ""
            self._c2_feed(PageReceived(stats=stats))
            outcome = self._c2_run(self._c2_feed(FrameReceived(frame=frame)))
        else:
            outcome = ("page", s.held_page)
        while outcome[0] == "page":
            s.held_page = outcome[1]
            outcome = self._c2_receive_page(outcome[1])
            if outcome is None:
                return
        self._c2_after(outcome)

    def _c2_receive_page(self, act: ReceivePage):
        """Wait for the page carrier, pass it to the host, then wait for the post-page command."""
        s = self._c2
        deadline = time.monotonic() + self._line_real(s.engine.next_timeout_ms or act.timeout_ms)
        kind, carrier = self._l_recv_hs(s.call, act.modulation.class1_code, deadline)
        if kind == "timeout":
            return self._c2_run(self._c2_feed(TimePassed(ms=s.engine.next_timeout_ms or act.timeout_ms)))
        if kind == "gone":
            return self._c2_run(self._c2_feed(LineDropped()))
        if kind == "v21":
            return self._c2_run(self._c2_feed(CarrierUp(high_speed=False)))
        self._c2_feed(CarrierUp(high_speed=True))
        self._result("CONNECT")
        self._c2_trigger()
        reverse = bool(self.c2_bo & 1) != ("reverse_rx" in self.c2_quirks)
        sub = self.fclass == 20

        def to_host(data: bytes) -> None:
            self._emit(dle_stuff(reverse_bits(data) if reverse else data, sub=sub))

        data = self._l_stream(s.call, carrier, to_host, time.monotonic() + 600)
        self._emit(bytes(4) + bytes((DLE, ETX)))
        p = act.params
        try:
            stats = decode(data, p.coding, p.width, bit_order="lsb").stats
        except CodecError:
            stats = DecodeStats(rows=0, bad_rows=0, consecutive_bad_rows=0, terminated=False, bytes_used=0)
        s.phase = "D"
        return self._c2_wait_ppm(stats)

    def _c2_wait_ppm(self, stats):
        """After a page: hold the post-page command for the host's next +FDR (T.32 §8.3.4)."""
        s = self._c2
        fed = time.monotonic()
        limit = s.engine.config.timers.t2
        while True:
            kind, item = self._l_recv_frame(s.call, fed + self._line_real(limit))
            frame = None
            if kind == "frame" and item.ok:
                try:
                    frame = Frame.decode(item.payload)
                except T30Error:
                    continue
            elif kind == "frame":
                continue
            if frame is not None and frame.fcf in _PPMS:
                bad = 0 if "bogus_counts" in self.c2_quirks else stats.bad_rows
                rows = 0 if "bogus_counts" in self.c2_quirks else stats.rows
                c = s.engine.config
                good = copy_quality_ok(stats, min_good_percent=c.min_good_rows_percent,
                                       max_consecutive_bad=c.max_consecutive_bad_rows)
                self._info(f"{s.dialect.page_status}:{1 if good else 2},{rows},{bad},"
                           f"{0 if 'bogus_counts' in self.c2_quirks else stats.consecutive_bad_rows},0")
                self._info(f"+FET:{_PPMS[frame.fcf]}")
                s.pause, s.held = "ppm", (stats, frame)
                if frame.fcf in (FCF.EOM, FCF.PRI_EOM):
                    s.after_eom = True
                self._result("OK")
                return None
            self._c2_feed(PageReceived(stats=stats))
            if kind == "timeout":
                return self._c2_run(self._c2_feed(TimePassed(ms=s.engine.next_timeout_ms or limit)))
            if kind == "gone":
                return self._c2_run(self._c2_feed(LineDropped()))
            return self._c2_run(self._c2_feed(FrameReceived(frame=frame)))

    def _c2_trigger(self) -> None:
        """Wait (briefly) for the host's DC2 (SP-2388-B) or DC1 (2388-A) before sending data."""
        deadline = time.monotonic() + TRIGGER_WAIT
        while True:
            chunk = self._take(deadline, limit=1)
            if chunk is None or chunk[0] in (DC2, XON):
                return

    # -- ending -------------------------------------------------------------------------------------
    def _c2_fk(self, cmd) -> None:
        """+FK / +FKS (T.32 §8.3.5): end the session with DCN; report the hang-up code."""
        s = self._c2
        if s is None or s.pause == "finished" or s.engine.state is State.DONE:
            self._result("OK")
            return
        self._c2_after(self._c2_run(self._c2_feed(Abort(completion=Completion.CANCELLED, reason="+FK"))))

    def _class2_hangup(self) -> None:
        self._c2 = None
        self._c2_rx = None

