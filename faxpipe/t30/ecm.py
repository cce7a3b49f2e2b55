"""Error correction mode: the T.30 Annex A procedure of both stations, as rows of the engine's tables.

Phase C in ECM (T.4 Annex A): the coded page is cut into FCD frames of 256 (or 64, DCS bit 28)
octets, each carrying its frame number; at most 256 frames make a partial page ("block"), sent in
one high-speed carrier and ended by three RCP frames. Phase D (T.30 §5.3.6.1.6, Annex A):

* the sender follows each partial page with **PPS** whose FIF is the post-page message (NULL
  for "more of this page", MPS / EOM / EOP / PRI-x at the page's end), the page counter, the
  block counter and the number of frames minus one (fax-protocol.md §4.6; spandsp ``t30.c``
  ``send_pps_frame``);
* the receiver answers **MCF** when every frame arrived, else **PPR** whose 32-octet FIF has bit
  ``n % 8`` of octet ``n // 8`` set for each frame ``n`` to send again; the sender retransmits
  exactly those frames (short training) and repeats the PPS;
* after the 4th PPR for one partial page the sender sends **CTC** (with the rate in DCS bits
  11-14: the next lower one when there is one) → **CTR**, retrains (long training) and carries
  on; once ``ecm_max_ctc`` CTCs were spent it sends **EOR** (+ the post-page message) → **ERR**:
  the partial page is given up and the page counts as not confirmed;
* a receiver that cannot take more data answers **RNR**; the sender polls with **RR** until MCF,
  PPR or ERR comes — for at most T5 (60 s, T.30 §5.4.3.1), then DCN;
* a lost PPS (or its lost answer) is repeated on T4 like any command; the receiver recognises a
  repeated PPS by its counters and answers it again without storing the block twice.

The receiver's pages are complete only in PPS-MPS / -EOM / -EOP answered MCF; it asks the driver
to decode them with :class:`~.events.PageData`. No copy-quality check and no minimum scan-line
time apply in ECM (T.4 §A.1; HylaFAX does not check copy quality of ECM pages either).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .completion import Completion, FrameError
from .events import (FOLLOWING, Action, BlockReceived, Modulation, PageData, PageResult, ReceiveBlock,
                     RequestPage, SendBlock, SendFrames)
from .frames import FCF, Frame, ctc_fif, lookup_fcf, next_rate, rate_from_ctc, with_rate
from .states import SAME, Role, State, fork, go

S = State
MAX_FRAMES = 256            # frames in one partial page (T.4 §A.3)
PPR_BITMAP = 32             # octets of the PPR FIF
PPRS_BEFORE_CTC = 4         # T.30 Annex A; spandsp PPR_LIMIT_BEFORE_CTC_OR_EOR
NULL = 0x00                 # the "post-page message" of a PPS in the middle of a page
_PAGE_END = {FCF.MPS: "page", FCF.PRI_MPS: "page", FCF.EOM: "document", FCF.PRI_EOM: "document",
             FCF.EOP: "end", FCF.PRI_EOP: "end"}


# --- frames -------------------------------------------------------------------------------------------

def split_page(data: bytes, frame_size: int = 256) -> list[list[bytes]]:
    """A coded page → partial pages (lists of at most 256 frames of ``frame_size`` octets)."""
    frames = [data[i:i + frame_size] for i in range(0, len(data), frame_size)] or [b""]
    return [frames[i:i + MAX_FRAMES] for i in range(0, len(frames), MAX_FRAMES)]


def ppr_fif(bad) -> bytes:
    """The 32-octet PPR bitmap: frame ``n`` → bit ``n % 8`` of octet ``n // 8`` (serial order)."""
    out = bytearray(PPR_BITMAP)
    for n in bad:
        out[n // 8] |= 1 << (n % 8)
    return bytes(out)


def ppr_frames(fif: bytes, count: int) -> list[int]:
    """The frame numbers a PPR asks for, among the ``count`` frames of the partial page."""
    fif = bytes(fif)
    return [n for n in range(min(count, 8 * len(fif))) if fif[n // 8] >> (n % 8) & 1]


def ppm_octet(ppm: FCF | None, x: bool = True) -> int:
    return NULL if ppm is None else ppm.value | int(x)


def parse_ppm(octet: int) -> FCF | None:
    """The post-page message inside a PPS / EOR FIF (X bit ignored); None for NULL."""
    if octet & 0xFE == NULL:
        return None
    fcf, _ = lookup_fcf(octet)
    if fcf not in _PAGE_END:
        raise FrameError(f"{fcf.name} is not a post-page message (PPS / EOR FIF)")
    return fcf


@dataclass
class TxPage:
    """The sender's page in ECM: its partial pages, where we are, and the PPR / CTC counts."""

    number: int
    ppm: FCF
    blocks: list
    block: int = 0
    pprs: int = 0
    ctcs: int = 0
    damaged: bool = False
    pending: list = field(default_factory=list)   # frames to resend after CTR
    command: str = "PPS"                           # what RR polls for: "PPS" or "EOR"

    @property
    def last_block(self) -> bool:
        return self.block == len(self.blocks) - 1

    @property
    def frames(self) -> list[bytes]:
        return self.blocks[self.block]


@dataclass
class RxPage:
    """The receiver's page in ECM: committed partial pages and the frames of the current one."""

    parts: list = field(default_factory=list)
    frames: dict = field(default_factory=dict)
    count: int = 0
    damaged: bool = False


# --- the rows -----------------------------------------------------------------------------------------

_C, _A = Role.CALLING, Role.ANSWERING
_CONFIRMED = fork("ecm_confirmed", block=S.ECM_SENT_PPS, page=S.WAIT_PAGE_DATA, document=S.WAIT_DIS, end=S.DONE)
_ERR = fork("ecm_err", block=S.ECM_SENT_PPS, page=S.WAIT_PAGE_DATA, document=S.WAIT_DIS, end=S.DONE)
_PPR = fork("ecm_ppr", resend=S.ECM_SENT_PPS, ctc=S.ECM_SENT_CTC, eor=S.ECM_SENT_EOR)
_REPEAT = fork("repeat_command", repeat=SAME, give_up=S.DONE)
_RNR = go(S.ECM_SENT_RR, "ecm_rnr")
_INTERRUPTED = {"frame:PIP": go(S.DONE, "interrupted"), "frame:PIN": go(S.DONE, "interrupted")}
_ANSWER = dict(block=S.WAIT_PAGE, page=S.WAIT_PAGE, document=S.WAIT_DCS, end=S.WAIT_DCN, ppr=S.WAIT_PAGE,
               rnr=S.ECM_WAIT_PPS, ignore=SAME)
#: Rows the receiver takes wherever an ECM command may arrive (after CFR, a block, our MCF / PPR / CTR).
RX_COMMANDS = {
    "frame:PPS": fork("ecm_pps", **_ANSWER),
    "frame:EOR": fork("ecm_eor", **_ANSWER),
    "frame:RR": fork("ecm_rr", **_ANSWER),
    "frame:CTC": fork("ecm_ctc", ok=S.WAIT_PAGE, ignore=SAME),
}

#: role → state → rows added to (or replacing those of) :data:`faxpipe.t30.engine.TRANSITIONS`.
ROWS = {
    _C: {
        S.ECM_SENT_PPS: {"frame:MCF": _CONFIRMED, "frame:PPR": _PPR, "frame:RNR": _RNR, **_INTERRUPTED,
                         "frame:CRP": _REPEAT, "timer:T4": _REPEAT},
        S.ECM_SENT_CTC: {"frame:CTR": go(S.ECM_SENT_PPS, "ecm_ctr"), "frame:RNR": _RNR, **_INTERRUPTED,
                         "frame:CRP": _REPEAT, "timer:T4": _REPEAT},
        S.ECM_SENT_EOR: {"frame:ERR": _ERR, "frame:RNR": _RNR, **_INTERRUPTED,
                         "frame:CRP": _REPEAT, "timer:T4": _REPEAT},
        S.ECM_SENT_RR: {"frame:MCF": _CONFIRMED, "frame:PPR": _PPR, "frame:ERR": _ERR,
                        "frame:RNR": go(SAME, "ecm_rnr"), **_INTERRUPTED,
                        "frame:CRP": _REPEAT, "timer:T4": _REPEAT, "timer:T5": go(S.DONE, "ecm_t5")},
    },
    _A: {
        S.WAIT_PAGE: {**RX_COMMANDS, "BlockReceived": go(S.ECM_WAIT_PPS, "ecm_block"),
                      # V.21 instead of the block: in ECM the PPS / CTC / RR comes here (not WAIT_COMMAND)
                      "CarrierUp:v21": fork("v21_instead", plain=S.WAIT_COMMAND, ecm=SAME)},
        S.RECEIVING_PAGE: {"BlockReceived": go(S.ECM_WAIT_PPS, "ecm_block")},
        S.ECM_WAIT_PPS: {**RX_COMMANDS, "timer:T2": go(S.DONE, "t2_expired")},
        S.WAIT_DCS: {"frame:PPS": fork("ecm_pps", **_ANSWER)},    # our MCF to PPS-EOM was lost
        S.WAIT_DCN: {"frame:PPS": fork("ecm_pps", **_ANSWER)},    # our MCF to PPS-EOP was lost
    },
}
TIMERS = {
    (_C, S.ECM_SENT_PPS): {"T4": "send"},
    (_C, S.ECM_SENT_CTC): {"T4": "send"},
    (_C, S.ECM_SENT_EOR): {"T4": "send"},
    (_C, S.ECM_SENT_RR): {"T4": "send", "T5": "enter"},
    (_A, S.ECM_WAIT_PPS): {"T2": "send"},   # restarts with each RNR we answer (T.30 §5.4.3.2)
}
GIVE_UP = {S.ECM_SENT_PPS: Completion.NO_PPM_RESPONSE, S.ECM_SENT_CTC: Completion.NO_RESPONSE,
           S.ECM_SENT_EOR: Completion.NO_PPM_RESPONSE, S.ECM_SENT_RR: Completion.NO_PPM_RESPONSE}


class EcmMixin:
    """The ECM handlers of :class:`faxpipe.t30.engine.Engine` (T.30 Annex A)."""

    # -- calling station ------------------------------------------------------------------------------
    def _ecm_start_page(self, data: bytes, following: str) -> list[Action]:
        size = 64 if self.dcs.ecm_frame_64 else 256
        self._tx = TxPage(number=self.page, ppm=FOLLOWING[following], blocks=split_page(data, size))
        return self._ecm_send(range(len(self._tx.frames)), long_training=False)

    def _pps(self) -> Frame:
        tx = self._tx
        ppm = tx.ppm if tx.last_block else None
        fif = bytes((ppm_octet(ppm), (tx.number - 1) & 0xFF, tx.block & 0xFF, len(tx.frames) - 1))
        return Frame(fcf=FCF.PPS, fif=fif, x=True)

    def _ecm_send(self, numbers, *, long_training: bool) -> list[Action]:
        """Frames ``numbers`` of the current partial page, then PPS (repeated on T4)."""
        tx = self._tx
        block = SendBlock(number=tx.number, block=tx.block, frames=[(n, tx.frames[n]) for n in numbers],
                          modulation=Modulation(rate=self.dcs.rate, long_training=long_training))
        tx.command = "PPS"
        self._repeat = [SendFrames(frames=[self._pps()])]
        self._tries = 1
        return [block, *self._repeat, self._listen("T4")]

    def _ecm_command(self, frame: Frame) -> list[Action]:
        self._repeat = [SendFrames(frames=[frame])]
        self._tries = 1
        return [*self._repeat, self._listen("T4")]

    def _on_ecm_confirmed(self, event):
        if self._tx.command == "EOR":   # MCF to an RR that polled for EOR: take it as ERR
            return self._on_ecm_err(event)
        return self._ecm_block_done(FCF.MCF)

    def _on_ecm_err(self, event):
        self._tx.damaged = True
        return self._ecm_block_done(FCF.ERR)

    def _ecm_block_done(self, response: FCF):
        tx = self._tx
        if not tx.last_block:
            tx.block += 1
            tx.pprs = tx.ctcs = 0
            return "block", self._ecm_send(range(len(tx.frames)), long_training=False)
        ok = not tx.damaged
        actions: list[Action] = [PageResult(number=self.page, response=response if ok else FCF.ERR, confirmed=ok)]
        if ok:
            self.pages += 1
        else:
            self._damaged_pages += 1
        self.page += 1
        branch = _PAGE_END[tx.ppm]
        if branch == "page":
            actions.append(RequestPage(number=self.page, params=self.dcs.params))
        elif branch == "document":
            actions.append(self._listen("T1"))
        elif self._damaged_pages:
            why = f"{self._damaged_pages} page(s) ended with frames missing (EOR / ERR)"
            actions += self._finish(Completion.PAGE_REJECTED, why, dcn=True)
        else:
            actions += self._finish(Completion.OK, dcn=True)
        return branch, actions

    def _on_ecm_ppr(self, event):
        tx = self._tx
        bad = ppr_frames(event.frame.fif, len(tx.frames))
        tx.pprs += 1
        self.pprs += 1
        if tx.pprs % PPRS_BEFORE_CTC:
            return "resend", self._ecm_send(bad, long_training=False)
        if tx.ctcs < self.config.ecm_max_ctc:
            tx.ctcs += 1
            tx.pending = bad
            rate = next_rate(self.dcs.rate, self.config.capabilities, self.remote_dis) or self.dcs.rate
            self._ctc_rate = rate
            return "ctc", self._ecm_command(Frame(fcf=FCF.CTC, fif=ctc_fif(rate), x=True))
        tx.command = "EOR"
        ppm = tx.ppm if tx.last_block else None
        return "eor", self._ecm_command(Frame(fcf=FCF.EOR, fif=bytes((ppm_octet(ppm),)), x=True))

    def _on_ecm_ctr(self, event):
        self.dcs = with_rate(self.dcs, self._ctc_rate)
        return "", self._ecm_send(self._tx.pending, long_training=True)

    def _on_ecm_rnr(self, event):
        command = self._tx.command
        actions = self._ecm_command(Frame(fcf=FCF.RR, x=True))
        self._tx.command = command
        return "", actions

    def _on_ecm_t5(self, event):
        return "", self._finish(Completion.RECEIVER_NOT_READY, dcn=True)

    # -- answering station ----------------------------------------------------------------------------
    def _receive_block(self, *, long_training: bool = False) -> ReceiveBlock:
        return ReceiveBlock(number=self.page, modulation=Modulation(rate=self.dcs.rate, long_training=long_training),
                            params=self.dcs.params, timeout_ms=self.config.timers.t2)

    def _on_ecm_block(self, event: BlockReceived):
        self._rx.frames.update(event.frames)
        return "", [self._listen("T2")]

    def _on_v21_instead(self, event):
        return ("ecm" if self.dcs is not None and self.dcs.ecm else "plain"), [self._listen("T2")]

    def _on_local_busy(self, event):
        self._busy = event.busy
        return "", []

    def _ecm_answer(self, response: FCF, branch: str, fif: bytes = b"") -> list[Action]:
        actions: list[Action] = [SendFrames(frames=[Frame(fcf=response, fif=fif)])]
        if branch in ("block", "page", "ppr"):
            actions.append(self._receive_block())
        elif branch == "document":
            actions += self._on_send_dis(None)[1]
        else:
            actions.append(self._listen("T2"))
        return actions

    def _on_ecm_pps(self, event):
        fif = event.frame.fif
        try:
            if len(fif) < 4:
                raise FrameError(f"PPS FIF of {len(fif)} octets, 4 expected")
            ppm = parse_ppm(fif[0])
        except FrameError:
            return "ignore", [self._listen("T2")]   # as if not received: the sender repeats it
        key = (fif[1], fif[2])
        if self._ecm_last is not None and self._ecm_last[0] == ("PPS", key, ppm):
            _, response, branch = self._ecm_last   # our MCF was lost and the PPS repeated
            return branch, self._ecm_answer(response, branch)
        if self._busy:
            self._ecm_pending = event
            return "rnr", self._ecm_answer(FCF.RNR, "rnr")
        rx = self._rx
        if key != self._rx_key:
            self._rx_key, rx.count = key, 0
        rx.count = max(rx.count, fif[3] + 1)
        missing = [n for n in range(rx.count) if n not in rx.frames]
        if missing:
            self.pprs += 1
            return "ppr", self._ecm_answer(FCF.PPR, "ppr", ppr_fif(missing))
        return self._ecm_commit(ppm, FCF.MCF, ("PPS", key, ppm))

    def _ecm_commit(self, ppm: FCF | None, response: FCF, last) -> tuple[str, list[Action]]:
        """Keep the partial page; at the page's end hand the page over and count it."""
        rx = self._rx
        rx.parts.append(b"".join(rx.frames[n] for n in range(rx.count) if n in rx.frames))
        rx.damaged |= any(n not in rx.frames for n in range(rx.count))
        rx.frames, rx.count, self._rx_key = {}, 0, None
        actions: list[Action] = []
        if ppm is None:
            branch = "block"
        else:
            branch = _PAGE_END[ppm]
            ok = not rx.damaged
            actions += [PageData(number=self.page, data=b"".join(rx.parts), params=self.dcs.params, complete=ok),
                        PageResult(number=self.page, response=response, confirmed=ok)]
            if ok:
                self.pages += 1
            self.page += 1
            self._rx = RxPage()
        self._ecm_last = (last, response, branch)
        return branch, actions + self._ecm_answer(response, branch)

    def _on_ecm_eor(self, event):
        fif = event.frame.fif
        try:
            ppm = parse_ppm(fif[0]) if fif else None
        except FrameError:
            return "ignore", [self._listen("T2")]
        if self._ecm_last is not None and self._ecm_last[0] == ("EOR", ppm, self.page):
            _, response, branch = self._ecm_last
            return branch, self._ecm_answer(response, branch)
        if self._busy:
            self._ecm_pending = event
            return "rnr", self._ecm_answer(FCF.RNR, "rnr")
        self._rx.damaged = True
        return self._ecm_commit(ppm, FCF.ERR, ("EOR", ppm, self.page + (ppm is not None)))

    def _on_ecm_rr(self, event):
        if self._busy:
            return "rnr", self._ecm_answer(FCF.RNR, "rnr")
        pending, self._ecm_pending = self._ecm_pending, None
        if pending is not None:
            handler = self._on_ecm_eor if pending.frame.fcf is FCF.EOR else self._on_ecm_pps
            return handler(pending)
        if self._ecm_last is not None:   # RR after our answer was lost: answer again
            _, response, branch = self._ecm_last
            return branch, self._ecm_answer(response, branch)
        return "ignore", [self._listen("T2")]

    def _on_ecm_ctc(self, event):
        try:
            rate = rate_from_ctc(event.frame.fif)
        except FrameError:
            return "ignore", [self._listen("T2")]
        if rate not in self.config.capabilities.rates:
            return "ignore", [self._listen("T2")]
        self.dcs = with_rate(self.dcs, rate)
        return "ok", [SendFrames(frames=[Frame(fcf=FCF.CTR)]), self._receive_block(long_training=True)]
