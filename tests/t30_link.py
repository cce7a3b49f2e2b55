"""Two T.30 engines joined back to back by a fake half-duplex line with injected time.

Like h11's ``ConnectionPair`` (tests/helpers.py): no modem, no clock. Each side carries out its
engine's actions in order; a signal sent by one side reaches the other only if that side is
listening for it at that moment, with the same modulation (as on a real line: a TCF sent while the
far end listens for frames is lost). When both sides wait, time jumps to the next timer of either.

Pages are real: the sender's RequestPage is answered by encoding test pages with faxpipe.codec for
the negotiated parameters, and the receiver decodes what arrives and reports the decoder's stats.

Faults: frames dropped or corrupted (by sender and FCF, the next n), TCF noisy at chosen rates,
page data mangled on a chosen (page, attempt), the line cut after a chosen frame; in ECM, chosen
FCD frames of a (page, block, burst) lost (``block_faults``), and ``signal_ms`` of line time per
V.21 signal (so T5 can run out while RR and RNR go back and forth).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

from faxpipe.codec import decode, encode
from faxpipe.page import Page
from faxpipe.t30.engine import Engine
from faxpipe.t30.events import (Abort, BadFrame, CallFinished, CarrierUp, FrameReceived, Hangup, LineDropped,
                                Negotiated, PageReceived, PageResult, PageSupplied, ReceiveFrames, ReceivePage,
                                ReceiveTcf, RequestPage, SendFrames, SendPage, SendTcf, Start, TcfReceived,
                                TimePassed, BlockReceived, PageData, ReceiveBlock, SendBlock)


def sample_page(number: int, width: int = 1728, height: int = 64, yres: float = 196.0) -> Page:
    """A small page with a recognisable pattern per page number."""
    stride = (width + 7) // 8
    rows = bytearray(stride * height)
    for y in range(height):
        for x in range(0, stride, 7):
            if (x * 3 + y + number * 5) % 11 < 4:
                rows[y * stride + x] = 0xF0 | number & 0x0F
    return Page(width, height, bytes(rows), 204.0, yres)


@dataclass
class Side:
    name: str
    engine: Engine | None
    queue: deque = field(default_factory=deque)
    listening: object = None
    finished: CallFinished | None = None
    hung_up: bool = False
    results: list = field(default_factory=list)      # PageResult actions
    negotiated: list = field(default_factory=list)   # Negotiated actions
    received: list = field(default_factory=list)     # (number, Page, stats) decoded by this side
    sent_frames: list = field(default_factory=list)  # FCF names this side transmitted, in order

    @property
    def done(self) -> bool:
        return self.engine is None or self.finished is not None


class Link:
    def __init__(self, caller: Engine | None, answerer: Engine | None, documents=None, *, seed: int = 1,
                 notify_hangup: bool = True):
        self.a = Side("caller", caller)
        self.b = Side("answerer", answerer)
        self.documents = documents if documents is not None else [[sample_page(1)]]
        self.clock = 0
        self.line: deque = deque()
        self.trace: list[str] = []
        self.rng = random.Random(seed)
        self.notify_hangup = notify_hangup
        self.drop: dict[tuple[str, str], int] = {}       # (sender name, FCF name) → frames to lose
        self.corrupt: dict[tuple[str, str], int] = {}    # (sender name, FCF name) → frames to garble
        self.bad_tcf_rates: set = set()
        self.page_faults: dict[tuple[int, int], object] = {}  # (page, attempt) → fn(bytes) -> bytes
        self.cut_after: tuple[str, str] | None = None    # (sender name, FCF name): line dies after it
        self.page_sends: dict[int, int] = {}
        self.time_limit = 20 * 60_000
        self.watches: list[list] = []  # [side name, State, fn(link, side), fired]
        self.block_faults: dict = {}     # (page, block, burst) → frame numbers lost, or fn(frames) -> set
        self.block_sends: dict = {}
        self.blocks: list = []           # (page, block, frame numbers sent, modulation) per burst
        self.signal_ms = 0

    def watch(self, side_name: str, state, fn) -> None:
        """Call ``fn(link, side)`` the first time that side's engine enters ``state``."""
        self.watches.append([side_name, state, fn, False])

    # -- plumbing ---------------------------------------------------------------------------------
    def other(self, side: Side) -> Side:
        return self.b if side is self.a else self.a

    def log(self, side: Side, text: str) -> None:
        self.trace.append(f"{self.clock:7d} ms {side.name:8} {text}")

    def feed(self, side: Side, event) -> None:
        if side.done:
            return
        actions = side.engine.handle(event)
        if not isinstance(event, TimePassed) or actions:
            self.log(side, f"<- {type(event).__name__} => {side.engine.state.name}")
        if actions:
            if isinstance(event, LineDropped):
                side.queue.clear()  # nothing more goes out on a dead line
            side.listening = None
            side.queue.extend(actions)
        for w in self.watches:
            if not w[3] and w[0] == side.name and side.engine.state is w[1]:
                w[3] = True
                w[2](self, side)

    def pages_flat(self):
        flat = []
        for d, doc in enumerate(self.documents):
            for i, page in enumerate(doc):
                last_in_doc = i == len(doc) - 1
                following = "page" if not last_in_doc else "document" if d < len(self.documents) - 1 else "end"
                flat.append((page, following))
        return flat

    # -- carrying out actions ---------------------------------------------------------------------
    def drain(self, side: Side) -> bool:
        progressed = False
        while side.queue and side.listening is None and not side.done:
            act = side.queue.popleft()
            progressed = True
            if isinstance(act, (SendFrames, SendTcf, SendPage, SendBlock)):
                if isinstance(act, SendFrames):
                    side.sent_frames += [f.fcf.name for f in act.frames]
                    self.log(side, "-> " + " / ".join(str(f) for f in act.frames))
                else:
                    self.log(side, f"-> {type(act).__name__} {act.modulation}")
                self.line.append((side, act))
            elif isinstance(act, (ReceiveFrames, ReceiveTcf, ReceivePage, ReceiveBlock)):
                side.listening = act
            elif isinstance(act, RequestPage):
                page, following = self.pages_flat()[act.number - 1]
                p = act.params
                data = encode(page, p.coding, min_bits=p.min_bits, bit_order="lsb")
                self.feed(side, PageSupplied(data=data, following=following))
            elif isinstance(act, PageData):
                p = act.params
                page, stats = decode(act.data, p.coding, p.width, bit_order="lsb")
                side.received.append((act.number, page, stats))
            elif isinstance(act, PageResult):
                side.results.append(act)
            elif isinstance(act, Negotiated):
                side.negotiated.append(act)
            elif isinstance(act, Hangup):
                side.hung_up = True
                self.log(side, "hangs up")
                other = self.other(side)
                if self.notify_hangup and not other.done:
                    self.line.append((side, LineDropped()))
            elif isinstance(act, CallFinished):
                side.finished = act
                self.log(side, f"finished {act.completion.name} pages={act.pages}")
            else:
                raise AssertionError(f"unknown action {act!r}")
        return progressed

    def deliver(self, sender: Side, act) -> None:
        to = self.other(sender)
        if to.done:
            return
        if isinstance(act, LineDropped):
            self.feed(to, LineDropped())
            return
        if isinstance(act, SendFrames):
            for frame in act.frames:
                key = (sender.name, frame.fcf.name)
                if self.drop.get(key, 0) > 0:
                    self.drop[key] -= 1
                    self.log(to, f"   (lost {frame.fcf.name})")
                    continue
                if isinstance(to.listening, (ReceiveTcf, ReceivePage, ReceiveBlock)):
                    self.feed(to, CarrierUp(high_speed=False))  # +FCERROR: V.21 heard instead
                    self.drain(to)                              # ... so the driver issues +FRH=3
                if not isinstance(to.listening, ReceiveFrames):
                    self.log(to, f"   (not listening for {frame.fcf.name})")
                    continue
                if self.corrupt.get(key, 0) > 0:
                    self.corrupt[key] -= 1
                    self.feed(to, BadFrame(reason="bad FCS"))
                    continue
                self.feed(to, FrameReceived(frame=frame))
            if self.signal_ms and not sender.done:
                self.clock += self.signal_ms
                self.feed(sender, TimePassed(ms=self.signal_ms))
            if self.cut_after and any((sender.name, f.fcf.name) == self.cut_after for f in act.frames):
                self.cut_after = None
                self.log(sender, "line cut")
                self.feed(sender, LineDropped())
                self.feed(to, LineDropped())
            return
        listening = to.listening
        if isinstance(act, SendTcf):
            if isinstance(listening, ReceiveTcf) and listening.modulation == act.modulation:
                if act.modulation.rate in self.bad_tcf_rates:
                    data = bytes(self.rng.choice((0, 0, 0x10, 0xFF)) for _ in range(act.octets))
                else:
                    data = bytes(act.octets)
                self.feed(to, TcfReceived(data=data))
            else:
                self.log(to, "   (TCF lost)")
            return
        if isinstance(act, SendBlock):
            key = (act.number, act.block)
            burst = self.block_sends[key] = self.block_sends.get(key, 0) + 1
            self.blocks.append((act.number, act.block, [n for n, _ in act.frames], act.modulation))
            if not (isinstance(listening, ReceiveBlock) and listening.modulation == act.modulation):
                self.log(to, "   (block lost)")
                return
            lost = self.block_faults.get((act.number, act.block, burst), ())
            if callable(lost):
                lost = lost([n for n, _ in act.frames])
            self.feed(to, CarrierUp(high_speed=True))
            self.feed(to, BlockReceived(frames={n: d for n, d in act.frames if n not in set(lost)}))
            return
        if isinstance(act, SendPage):
            attempt = self.page_sends[act.number] = self.page_sends.get(act.number, 0) + 1
            if not (isinstance(listening, ReceivePage) and listening.modulation == act.modulation):
                self.log(to, "   (page lost)")
                return
            data = act.data
            fault = self.page_faults.get((act.number, attempt))
            if fault is not None:
                data = fault(data)
            self.feed(to, CarrierUp(high_speed=True))
            p = listening.params
            page, stats = decode(data, p.coding, p.width, bit_order="lsb")
            to.received.append((listening.number, page, stats))
            self.feed(to, PageReceived(stats=stats))
            return
        raise AssertionError(f"cannot deliver {act!r}")

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, *, start: bool = True) -> "Link":
        if start:
            for side in (self.a, self.b):
                if side.engine is not None:
                    self.feed(side, Start())
        for _ in range(100_000):
            progressed = self.drain(self.a) | self.drain(self.b)
            if self.line:
                self.deliver(*self.line.popleft())
                continue
            if progressed:
                continue
            active = [s for s in (self.a, self.b) if not s.done]
            if not active:
                return self
            timeouts = [s.engine.next_timeout_ms for s in active if s.engine.next_timeout_ms is not None]
            if not timeouts:
                raise AssertionError("deadlock: nobody is waiting on a timer\n" + "\n".join(self.trace[-30:]))
            step = min(timeouts)
            self.clock += step
            if self.clock > self.time_limit:
                raise AssertionError("call did not end\n" + "\n".join(self.trace[-30:]))
            for side in active:
                self.feed(side, TimePassed(ms=step))
        raise AssertionError("too many steps")

    def abort(self, side: Side, **kwargs) -> None:
        self.feed(side, Abort(**kwargs))
