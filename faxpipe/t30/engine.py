"""The T.30 engine: every state transition of both stations, as tables, with no I/O.

The calling station transmits the document, the answering station receives it (T.30 §2.2; polling
is refused). :data:`TRANSITIONS` maps role → state → event key → :class:`Step`; a step names the
handler that computes the actions and the next state of each outcome it may report. Nothing else
changes the state, and an event a table does not list raises :class:`LocalProtocolError` (our
driver's mistake) or :class:`RemoteProtocolError` (a frame the far end should not have sent), naming
the role, the state and the event (h11 ``_state.py``). Timers run per state (:data:`TIMERS`, T.30
§5.4.3 and §4.5 of fax-protocol.md) on the milliseconds :class:`TimePassed` reports.

Phase B (T.30 §5.3.6.2): DIS ⇄ [TSI] DCS, TCF, CFR / FTT with the FALLBACK order.
Phase C: the engine asks for page data coded for the DCS (it never encodes; spandsp ``t30.c`` /
``t4_tx.c`` split the same way). Phase D (§5.3.6.1.5): MPS / EOM / EOP → MCF / RTP / RTN; a rejected
page is resent after retraining, at most ``max_page_tries`` times; commands go at most
``max_tries`` times on T4. The receiver judges a page by the decoder's bad-row statistics
(HylaFAX ``PercentGoodLines 95``, ``MaxConsecutiveBadLines 5``) and a TCF by its zero run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..page import Resolution
from .completion import Completion, FrameError, LocalProtocolError, RemoteProtocolError, T30Error
from .events import (FOLLOWING, Abort, Action, BadFrame, CallFinished, CarrierUp, Event, FrameReceived,
                     Hangup, Modulation, Negotiated, PageReceived, PageResult, PageSupplied, ReceiveFrames,
                     ReceivePage, ReceiveTcf, RequestPage, SendFrames, SendPage, SendTcf, TcfReceived,
                     TimePassed)
from .states import SAME, STAY, Role, State, Step, fork, go  # noqa: F401  (re-exported)
from . import ecm
from .frames import (DCS, DIS, FCF, Frame, Rate, acceptable, decode_ident, ident_frame, negotiate, next_rate,
                     with_rate)


_C, _A, S = Role.CALLING, Role.ANSWERING, State
_IDENTS = ("frame:NSF", "frame:CSI", "frame:CIG", "frame:NSC", "frame:TSI", "frame:NSS", "frame:SUB",
           "frame:SID", "frame:PWD", "frame:SEP")
_NOTE = {key: go(SAME, "note_frame") for key in _IDENTS}
_PPMS = ("MPS", "EOM", "EOP", "PRI_MPS", "PRI_EOM", "PRI_EOP")
_ANSWER_PPM = fork("answer_ppm", page=S.WAIT_PAGE, document=S.WAIT_DCS, end=S.WAIT_DCN, retrain=S.WAIT_COMMAND)
_TAKE_DCS = fork("take_dcs", ok=S.WAIT_TCF, refuse=S.DONE)


def _sent_ppm(on_confirm: Step) -> dict:
    return {
        "frame:MCF": on_confirm,
        "frame:RTP": on_confirm,
        "frame:RTN": fork("page_rejected", retrain=S.WAIT_CFR, give_up=S.DONE),
        "frame:PIP": go(S.DONE, "interrupted"),
        "frame:PIN": go(S.DONE, "interrupted"),
        "frame:CRP": fork("repeat_command", repeat=SAME, give_up=S.DONE),
        "timer:T4": fork("repeat_command", repeat=SAME, give_up=S.DONE),
        # late answers to a DCS we repeated while the receiver repeated its DIS (a collision)
        "frame:CFR": STAY,
        "frame:FTT": STAY,
    }


#: role → state → event key → Step. Event keys: the event class name; "frame:<FCF>" for a frame;
#: "timer:<T1|T2|T4>" for a timer; "CarrierUp:hs" / "CarrierUp:v21".
TRANSITIONS: dict[Role, dict[State, dict[str, Step]]] = {
    Role.CALLING: {
        S.IDLE: {"Start": go(S.WAIT_DIS, "listen_for_dis")},
        S.WAIT_DIS: {
            **_NOTE,
            "frame:DIS": fork("send_dcs", ok=S.WAIT_CFR, incompatible=S.DONE),
            "frame:DTC": go(S.DONE, "refuse_polling"),
            "timer:T1": go(S.DONE, "t1_expired"),
        },
        S.WAIT_CFR: {
            **_NOTE,
            "frame:CFR": go(S.WAIT_PAGE_DATA, "request_page"),
            "frame:FTT": fork("fall_back", retrain=S.WAIT_CFR, give_up=S.DONE),
            "frame:DIS": fork("repeat_command", repeat=SAME, give_up=S.DONE),
            "frame:CRP": fork("repeat_command", repeat=SAME, give_up=S.DONE),
            "timer:T4": fork("repeat_command", repeat=SAME, give_up=S.DONE),
        },
        S.WAIT_PAGE_DATA: {"PageSupplied": fork("send_page", MPS=S.SENT_MPS, EOM=S.SENT_EOM, EOP=S.SENT_EOP,
                                                PPS=S.ECM_SENT_PPS)},
        S.SENT_MPS: {**_sent_ppm(go(S.WAIT_PAGE_DATA, "confirmed_next_page")),
                     "frame:RTP": go(S.WAIT_CFR, "confirmed_retrain")},
        S.SENT_EOM: _sent_ppm(go(S.WAIT_DIS, "confirmed_next_document")),
        S.SENT_EOP: _sent_ppm(go(S.DONE, "confirmed_last_page")),
        S.DONE: {},
    },
    Role.ANSWERING: {
        S.IDLE: {"Start": go(S.WAIT_DCS, "send_dis")},
        S.WAIT_DCS: {
            **_NOTE,
            "frame:DCS": _TAKE_DCS,
            "frame:DTC": go(S.DONE, "refuse_polling"),
            "frame:EOM": _ANSWER_PPM,  # our MCF to EOM was lost
            "frame:PRI_EOM": _ANSWER_PPM,
            "frame:CRP": go(SAME, "send_dis"),
            "timer:T4": go(SAME, "send_dis"),
            "timer:T1": go(S.DONE, "t1_expired"),
        },
        S.WAIT_TCF: {
            **_NOTE,
            "TcfReceived": fork("check_tcf", good=S.WAIT_PAGE, bad=S.WAIT_COMMAND),
            "frame:DCS": _TAKE_DCS,
            "CarrierUp:v21": go(S.WAIT_COMMAND, "listen"),
            "timer:T2": go(S.WAIT_COMMAND, "listen"),
        },
        S.WAIT_PAGE: {
            **_NOTE,
            "CarrierUp:hs": go(S.RECEIVING_PAGE),
            "PageReceived": go(S.WAIT_COMMAND, "judge_page"),
            "CarrierUp:v21": go(S.WAIT_COMMAND, "listen"),
            "frame:DCS": _TAKE_DCS,
            **{f"frame:{p}": _ANSWER_PPM for p in _PPMS},
            "timer:T2": go(S.DONE, "t2_expired"),
        },
        S.RECEIVING_PAGE: {"PageReceived": go(S.WAIT_COMMAND, "judge_page")},
        S.WAIT_COMMAND: {
            **_NOTE,
            "frame:DCS": _TAKE_DCS,
            **{f"frame:{p}": _ANSWER_PPM for p in _PPMS},
            "timer:T2": go(S.DONE, "t2_expired"),
        },
        S.WAIT_DCN: {
            "frame:DCN": go(S.DONE, "finish_ok"),
            **{f"frame:{p}": _ANSWER_PPM for p in _PPMS},
            "LineDropped": go(S.DONE, "finish_ok"),
            "timer:T2": go(S.DONE, "finish_ok"),
        },
        S.DONE: {},
    },
}

for _role, _rows in ecm.ROWS.items():   # T.30 Annex A: error correction mode, both roles
    for _state, _row in _rows.items():
        TRANSITIONS[_role].setdefault(_state, {}).update(_row)

#: Rows every state but DONE accepts unless its own row says otherwise.
ANY_STATE: dict[str, Step] = {
    "LocalBusy": go(SAME, "local_busy"),
    "Abort": go(S.DONE, "abort"),
    "LineDropped": go(S.DONE, "line_dropped"),
    "frame:DCN": go(S.DONE, "remote_dcn"),
    "BadFrame": STAY,
    "CarrierDown": STAY,
    "CarrierUp:hs": STAY,
    "CarrierUp:v21": STAY,
}
#: The only ANY_STATE rows IDLE takes: nothing is on the line before Start.
IDLE_ACCEPTS = frozenset({"Abort", "LineDropped"})
#: What DONE still accepts (the modem may report the line going down after we hung up).
DONE_ACCEPTS = frozenset({"LineDropped", "CarrierDown", "BadFrame", "CarrierUp:hs", "CarrierUp:v21"})

#: (role, state) → timers running there: "enter" ones start when the state is entered, "send"
#: ones also restart whenever the engine transmits again without leaving the state.
TIMERS: dict[tuple[Role, State], dict[str, str]] = {
    (_C, S.WAIT_DIS): {"T1": "enter"},
    (_C, S.WAIT_CFR): {"T4": "send"},
    (_C, S.SENT_MPS): {"T4": "send"},
    (_C, S.SENT_EOM): {"T4": "send"},
    (_C, S.SENT_EOP): {"T4": "send"},
    (_A, S.WAIT_DCS): {"T1": "enter", "T4": "send"},
    (_A, S.WAIT_TCF): {"T2": "enter"},
    (_A, S.WAIT_PAGE): {"T2": "send"},
    (_A, S.WAIT_COMMAND): {"T2": "enter"},
    (_A, S.WAIT_DCN): {"T2": "enter"},
    **ecm.TIMERS,
}
_GIVE_UP = {S.WAIT_CFR: Completion.NO_RESPONSE, S.SENT_MPS: Completion.NO_PPM_RESPONSE,
            S.SENT_EOM: Completion.NO_PPM_RESPONSE, S.SENT_EOP: Completion.NO_PPM_RESPONSE, **ecm.GIVE_UP}
_PPM_BASE = {"PRI_MPS": "MPS", "PRI_EOM": "EOM", "PRI_EOP": "EOP"}
_PPM_NEXT = {("MPS", FCF.MCF): "page", ("EOM", FCF.MCF): "document", ("EOP", FCF.MCF): "end"}


@dataclass(frozen=True, kw_only=True)
class Timers:
    """Timer values in ms (T.30 §5.4.3; spandsp t30.c:280-375 — fax-protocol.md §4.5)."""

    t1: int = 35_000
    t2: int = 7_000
    t4: int = 3_450
    t5: int = 60_000


@dataclass(frozen=True, kw_only=True)
class StationConfig:
    """One station's identity, capabilities and policy.

    ``capabilities``: our DIS (what our modem and codec can do); when calling, ``resolution``,
    ``width`` and ``coding`` describe the document (the best we would send), ``prefer`` the codings
    in the order of fewest bits for it. ``ecm``: use error correction (T.30 Annex A) when both DIS
    offer it — T.6 (MMR) needs it; ``ecm_frame_size`` 256 or 64 octets; ``ecm_max_ctc``: CTCs per
    partial page before the sender gives it up with EOR.
    """

    ident: str = ""
    capabilities: DIS = field(default_factory=DIS)
    resolution: Resolution = Resolution.FINE
    width: int = 1728
    coding: str = "mr"
    prefer: tuple[str, ...] | None = None
    ecm: bool = True
    ecm_frame_size: int = 256
    ecm_max_ctc: int = 2
    timers: Timers = field(default_factory=Timers)
    max_tries: int = 3
    max_page_tries: int = 3
    min_good_rows_percent: float = 95.0
    max_consecutive_bad_rows: int = 5
    tcf_min_zero_run_ms: int = 1000
    tcf_max_nonzero_percent: float = 10.0

    def __post_init__(self):
        if self.capabilities.t6 and not self.capabilities.ecm:
            raise ValueError("T.6 (MMR) is only valid with ECM (T.30 Table 2, bit 31)")
        if self.ecm_frame_size not in (64, 256):
            raise ValueError("ECM frames are 256 or 64 octets (T.4 Annex A)")
        if self.max_tries < 1 or self.max_page_tries < 1:
            raise ValueError("max_tries and max_page_tries must be at least 1")
        ident_frame(FCF.CSI, self.ident)  # validates the identity


def tcf_verdict(data: bytes, rate: Rate, *, min_zero_run_ms: int = 1000, max_nonzero_percent: float = 10.0) -> str | None:
    """Why a TCF is refused, or None if it is good: the longest run of zero octets must last
    ``min_zero_run_ms`` at the rate and at most ``max_nonzero_percent`` of the octets may be
    non-zero (fax-protocol.md §4.4: spandsp t30.c:6549-6563, HylaFAX ``Class1TCFMinRun``)."""
    need = rate.bps * min_zero_run_ms // 8000
    longest = run = 0
    for byte in data:
        run = run + 1 if byte == 0 else 0
        longest = max(longest, run)
    nonzero = sum(1 for byte in data if byte)
    if longest < need:
        return f"TCF zero run {longest} octets, {need} needed ({len(data)} octets at {rate})"
    if data and 100.0 * nonzero / len(data) > max_nonzero_percent:
        return f"TCF {nonzero} of {len(data)} octets non-zero"
    return None


def copy_quality_ok(stats, *, min_good_percent: float = 95.0, max_consecutive_bad: int = 5) -> bool:
    """The receiver's verdict on a page (MCF or RTN) from :class:`faxpipe.codec.DecodeStats`."""
    if stats.rows <= 0:
        return False
    good = 100.0 * (stats.rows - stats.bad_rows) / stats.rows
    return good >= min_good_percent and stats.consecutive_bad_rows <= max_consecutive_bad


def _event_key(event: Event) -> str:
    if isinstance(event, FrameReceived):
        return f"frame:{event.frame.fcf.name}"
    if isinstance(event, CarrierUp):
        return "CarrierUp:hs" if event.high_speed else "CarrierUp:v21"
    return type(event).__name__


def _sends(actions) -> bool:
    return any(isinstance(a, (SendFrames, SendTcf, SendPage)) for a in actions)


class Engine(ecm.EcmMixin):
    """One station's T.30 procedure. Feed events to :meth:`handle`; carry out the actions it returns."""

    def __init__(self, role: Role, config: StationConfig | None = None):
        self.role = Role(role)
        self.config = config or StationConfig()
        self.state = State.IDLE
        self.completion: Completion | None = None
        self.remote_dis: DIS | None = None
        self.remote_ident = ""
        self.dcs: DCS | None = None
        self.page = 1            # the page being sent or expected
        self.pages = 0           # confirmed (calling) or accepted (answering)
        self._timers: dict[str, int] = {}
        self._tries = 0
        self._page_tries = 0
        self._repeat: list[Action] = []
        self._judged: FCF | None = None
        self._last_answer: tuple[str, FCF] | None = None
        # error correction mode (faxpipe.t30.ecm)
        self._tx: ecm.TxPage | None = None
        self._rx = ecm.RxPage()
        self._rx_key = None
        self._ecm_last = None
        self._ecm_pending = None
        self._ctc_rate = None
        self._busy = False
        self._damaged_pages = 0
        self.pprs = 0            # ECM: PPRs sent (answering) or heard (calling)

    # -- the one entry point --------------------------------------------------------------------
    def handle(self, event: Event) -> list[Action]:
        if not isinstance(event, Event):
            raise TypeError(f"Engine.handle takes an Event, not {type(event).__name__}")
        if isinstance(event, TimePassed):
            return self._time_passed(event.ms)
        return self._dispatch(_event_key(event), event)

    @property
    def next_timeout_ms(self) -> int | None:
        """Milliseconds until the next timer expires, or None if none is running."""
        return min(self._timers.values(), default=None)

    def _time_passed(self, ms: int) -> list[Action]:
        if not self._timers:
            return []
        name = min(self._timers, key=self._timers.get)
        expired = self._timers[name] <= ms
        self._timers = {n: max(0, left - ms) for n, left in self._timers.items()}
        return self._dispatch(f"timer:{name}", None) if expired else []

    def _dispatch(self, key: str, event) -> list[Action]:
        state = self.state
        step = TRANSITIONS[self.role][state].get(key)
        if step is None and state is not State.DONE and (state is not State.IDLE or key in IDLE_ACCEPTS):
            step = ANY_STATE.get(key)
        if step is None and state is State.DONE and key in DONE_ACCEPTS:
            step = STAY
        if step is None:
            what = f"{self.role.value} station in state {state.name} cannot take {key}"
            error = RemoteProtocolError if key.startswith("frame:") else LocalProtocolError
            raise error(what, role=self.role, state=state, event=key)
        branch, actions = ("", [])
        if step.handler:
            branch, actions = getattr(self, "_on_" + step.handler)(event)
        target = step.branches[branch]
        self._enter(state if target is SAME else target, actions)
        return actions

    def _enter(self, state: State, actions: list[Action]) -> None:
        spec = TIMERS.get((self.role, state), {})
        t = self.config.timers
        limits = {"T1": t.t1, "T2": t.t2, "T4": t.t4, "T5": t.t5}
        if state is not self.state:
            self._timers = {name: limits[name] for name in spec}
        elif _sends(actions):
            self._timers.update({name: limits[name] for name, mode in spec.items() if mode == "send"})
        self.state = state
        if state is State.DONE:
            self._timers = {}

    # -- small helpers --------------------------------------------------------------------------
    def _listen(self, timer: str) -> ReceiveFrames:
        return ReceiveFrames(timeout_ms=getattr(self.config.timers, timer.lower()))

    def _finish(self, completion: Completion, reason: str = "", *, dcn: bool = False) -> list[Action]:
        self.completion = completion
        actions: list[Action] = [SendFrames(frames=[Frame(fcf=FCF.DCN, x=self.role is Role.CALLING)])] if dcn else []
        return actions + [Hangup(), CallFinished(completion=completion, pages=self.pages,
                                                  reason=reason or completion.value)]

    def _x(self) -> bool:
        """T.30 §5.3.6.1: X = 1 in frames from the station that received the DIS (the caller)."""
        return self.role is Role.CALLING

    # -- handlers shared by both roles ----------------------------------------------------------
    def _on_note_frame(self, event: FrameReceived):
        frame = event.frame
        if frame.fcf in (FCF.CSI, FCF.TSI, FCF.CIG):
            self.remote_ident = decode_ident(frame.fif)
        return "", []

    def _on_abort(self, event: Abort):
        talking = self.state is not State.IDLE
        return "", self._finish(event.completion, event.reason, dcn=talking)

    def _on_line_dropped(self, event):
        return "", self._finish(Completion.LINE_DROPPED)

    def _on_remote_dcn(self, event):
        return "", self._finish(Completion.REMOTE_DCN)

    def _on_refuse_polling(self, event):
        return "", self._finish(Completion.INCOMPATIBLE, "the far end asked to poll (DTC): not supported", dcn=True)

    def _on_t1_expired(self, event):
        return "", self._finish(Completion.T1_EXPIRED)

    # -- calling station ------------------------------------------------------------------------
    def _on_listen_for_dis(self, event):
        return "", [self._listen("T1")]

    def _dcs_and_tcf(self) -> list[Action]:
        frames = ([ident_frame(FCF.TSI, self.config.ident, x=True)] if self.config.ident else []) + [self.dcs.frame()]
        self._repeat = [SendFrames(frames=frames),
                        SendTcf(modulation=Modulation(rate=self.dcs.rate, long_training=True))]
        self._tries = 1
        return [Negotiated(dcs=self.dcs, remote_ident=self.remote_ident), *self._repeat, self._listen("T4")]

    def _on_send_dcs(self, event: FrameReceived):
        try:
            self.remote_dis = DIS.decode(event.frame.fif)
            c = self.config
            self.dcs = negotiate(c.capabilities, self.remote_dis, resolution=c.resolution, width=c.width,
                                 coding=c.coding, ecm=c.ecm, prefer=c.prefer, ecm_frame_64=c.ecm_frame_size == 64)
        except T30Error as exc:
            completion = Completion.INCOMPATIBLE if not isinstance(exc, FrameError) else Completion.PROTOCOL_ERROR
            return "incompatible", self._finish(completion, exc.reason, dcn=True)
        return "ok", self._dcs_and_tcf()

    def _on_repeat_command(self, event):
        if self._tries >= self.config.max_tries:
            completion = _GIVE_UP[self.state]
            return "give_up", self._finish(completion, f"{completion.value} ({self._tries} tries)", dcn=True)
        self._tries += 1
        return "repeat", [*self._repeat, self._listen("T4")]

    def _on_fall_back(self, event):
        lower = next_rate(self.dcs.rate, self.config.capabilities, self.remote_dis)
        if lower is None:
            return "give_up", self._finish(Completion.TRAINING_FAILED, f"FTT at {self.dcs.rate}", dcn=True)
        self.dcs = with_rate(self.dcs, lower)
        return "retrain", self._dcs_and_tcf()

    def _on_request_page(self, event):
        return "", [RequestPage(number=self.page, params=self.dcs.params)]

    def _on_send_page(self, event: PageSupplied):
        if self.dcs.ecm:
            return "PPS", self._ecm_start_page(event.data, event.following)
        ppm = FOLLOWING[event.following]
        self._repeat = [SendFrames(frames=[Frame(fcf=ppm, x=True)])]
        self._tries = 1
        self._page_tries += 1
        page = SendPage(number=self.page, data=event.data, modulation=Modulation(rate=self.dcs.rate))
        return ppm.name, [page, *self._repeat, self._listen("T4")]

    def _confirm(self, event: FrameReceived) -> list[Action]:
        """MCF or RTP (T.30 §5.3.6.2.3): the page arrived; only here does a page count as sent."""
        actions: list[Action] = [PageResult(number=self.page, response=event.frame.fcf, confirmed=True)]
        self.pages += 1
        self.page += 1
        self._page_tries = 0
        return actions

    def _on_confirmed_next_page(self, event):
        return "", self._confirm(event) + [RequestPage(number=self.page, params=self.dcs.params)]

    def _on_confirmed_retrain(self, event):
        return "", self._confirm(event) + self._dcs_and_tcf()

    def _on_confirmed_next_document(self, event):
        return "", self._confirm(event) + [self._listen("T1")]

    def _on_confirmed_last_page(self, event):
        return "", self._confirm(event) + self._finish(Completion.OK, dcn=True)

    def _on_page_rejected(self, event):
        actions: list[Action] = [PageResult(number=self.page, response=FCF.RTN, confirmed=False)]
        if self._page_tries >= self.config.max_page_tries:
            why = f"page {self.page} rejected {self._page_tries} times"
            return "give_up", actions + self._finish(Completion.PAGE_REJECTED, why, dcn=True)
        lower = next_rate(self.dcs.rate, self.config.capabilities, self.remote_dis)
        if lower is not None:
            self.dcs = with_rate(self.dcs, lower)
        return "retrain", actions + self._dcs_and_tcf()

    def _on_interrupted(self, event: FrameReceived):
        return "", self._finish(Completion.PROCEDURE_INTERRUPT, f"{event.frame.fcf.name} received", dcn=True)

    # -- answering station ----------------------------------------------------------------------
    def _on_send_dis(self, event):
        caps = self.config.capabilities
        frames = ([ident_frame(FCF.CSI, self.config.ident)] if self.config.ident else []) + [caps.frame()]
        return "", [SendFrames(frames=frames), self._listen("T4")]

    def _on_take_dcs(self, event: FrameReceived):
        try:
            dcs = DCS.decode(event.frame.fif)
        except FrameError as exc:
            return "refuse", self._finish(Completion.PROTOCOL_ERROR, f"malformed DCS: {exc.reason}", dcn=True)
        why = acceptable(dcs, self.config.capabilities)
        if why:
            return "refuse", self._finish(Completion.INCOMPATIBLE, f"DCS asks for what we did not offer: {why}", dcn=True)
        self.dcs = dcs
        self._rx, self._rx_key = ecm.RxPage(), None
        return "ok", [Negotiated(dcs=dcs, remote_ident=self.remote_ident),
                      ReceiveTcf(modulation=Modulation(rate=dcs.rate, long_training=True), timeout_ms=self.config.timers.t2)]

    def _on_listen(self, event):
        return "", [self._listen("T2")]

    def _receive_page(self):
        if self.dcs.ecm:
            return self._receive_block()
        return ReceivePage(number=self.page, modulation=Modulation(rate=self.dcs.rate), params=self.dcs.params,
                           timeout_ms=self.config.timers.t2)

    def _on_check_tcf(self, event: TcfReceived):
        c = self.config
        why = tcf_verdict(event.data, self.dcs.rate, min_zero_run_ms=c.tcf_min_zero_run_ms,
                          max_nonzero_percent=c.tcf_max_nonzero_percent)
        if why:
            return "bad", [SendFrames(frames=[Frame(fcf=FCF.FTT)]), self._listen("T2")]
        return "good", [SendFrames(frames=[Frame(fcf=FCF.CFR)]), self._receive_page()]

    def _on_judge_page(self, event: PageReceived):
        c = self.config
        good = copy_quality_ok(event.stats, min_good_percent=c.min_good_rows_percent,
                               max_consecutive_bad=c.max_consecutive_bad_rows)
        self._judged = FCF.MCF if good else FCF.RTN
        return "", [self._listen("T2")]

    def _on_answer_ppm(self, event: FrameReceived):
        ppm = _PPM_BASE.get(event.frame.fcf.name, event.frame.fcf.name)
        actions: list[Action] = []
        if self._judged is not None:
            response, self._judged = self._judged, None
            actions.append(PageResult(number=self.page, response=response, confirmed=response is FCF.MCF))
            if response is FCF.MCF:
                self.pages += 1
                self.page += 1
            self._last_answer = (ppm, response)
        elif self._last_answer is not None and self._last_answer[0] == ppm:
            response = self._last_answer[1]  # our answer was lost and the command repeated (T.30 §5.4.3)
        else:
            response = FCF.RTN  # a post-page command for a page we never received
            actions.append(PageResult(number=self.page, response=response, confirmed=False))
            self._last_answer = (ppm, response)
        actions.append(SendFrames(frames=[Frame(fcf=response)]))
        branch = _PPM_NEXT.get((ppm, response), "retrain")
        if branch == "page":
            actions.append(self._receive_page())
        elif branch == "document":
            actions += self._on_send_dis(None)[1]
        else:
            actions.append(self._listen("T2"))
        return branch, actions

    def _on_finish_ok(self, event):
        return "", self._finish(Completion.OK)

    def _on_t2_expired(self, event):
        return "", self._finish(Completion.T2_EXPIRED)


def describe(role: Role) -> str:
    """The transition table of a role as text: one "STATE --event--> NEXT [handler]" per line."""
    lines = []
    for state, row in TRANSITIONS[role].items():
        extra = {} if state is State.DONE else {k: v for k, v in ANY_STATE.items()
                                                 if state is not State.IDLE or k in IDLE_ACCEPTS}
        rows = {**extra, **row}
        for key, step in sorted(rows.items()):
            targets = "|".join(f"{b}:{(t or state).name}" if b else (t or state).name for b, t in step.branches.items())
            lines.append(f"{state.name:15} --{key}--> {targets}" + (f"  [{step.handler}]" if step.handler else ""))
    return "\n".join(lines)


def handlers() -> set[str]:
    """Every handler the tables name (each must exist as ``Engine._on_<name>``)."""
    steps = [s for r in TRANSITIONS.values() for row in r.values() for s in row.values()] + list(ANY_STATE.values())
    return {s.handler for s in steps if s.handler}
