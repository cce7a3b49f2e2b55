"""What goes into the T.30 engine (events) and what comes out (actions).

All are frozen, keyword-only dataclasses that check themselves (h11 ``_events.py``). The program
driving the engine — the Class 1 driver, the software modem's Class 2 personality, the tests —
passes events to :meth:`faxpipe.t30.engine.Engine.handle` and carries out the returned actions
**in order**. The contract:

* An action list ends with at most one *wait* (:class:`ReceiveFrames`, :class:`ReceiveTcf`,
  :class:`ReceivePage`) or with :class:`CallFinished`. An empty list means "carry on with the wait
  you were doing" (e.g. after a non-final CSI the next frame of the same signal is still coming).
* :class:`TimePassed` reports time spent *waiting for the far end* after the previous actions were
  carried out (T4 and T2 run from the end of our own transmission, T.30 §5.4.3). The engine never
  reads a clock; :attr:`Engine.next_timeout_ms` says when it next wants to hear the time.
* Every send/receive action names its :class:`Modulation`: V.21 channel 2 HDLC at 300 bit/s for
  frames, or a high-speed :class:`~faxpipe.t30.frames.Rate` with long (TCF, T.30 §5.3.2.2 / §5.4)
  or short (page after CFR) training — a Class 1 driver turns it into ``+FTH=3`` / ``+FTM=146`` …
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .completion import Completion, DeliveryError
from .frames import DCS, FCF, Frame, PageParams, Rate

TCF_MS = 1500  # T.30 §5.3.2.2: 1.5 s of zeros (fax-protocol.md §4.4)


@dataclass(frozen=True, kw_only=True)
class Modulation:
    """V.21 HDLC (``rate=None``) or a high-speed rate with long or short training."""

    rate: Rate | None = None
    long_training: bool = False

    @property
    def is_v21(self) -> bool:
        return self.rate is None

    @property
    def class1_code(self) -> int:
        """The T.31 code: 3 for V.21, else +FTM/+FRM n (fax-protocol.md §4.4)."""
        return 3 if self.rate is None else self.rate.class1_code(long_training=self.long_training)

    def __str__(self) -> str:
        if self.rate is None:
            return "V.21 HDLC"
        return f"{self.rate} {'long' if self.long_training else 'short'} training"


V21 = Modulation()


# --- events -----------------------------------------------------------------------------------------

class Event:
    """Base of the events the engine accepts."""

    __slots__ = ()


@dataclass(frozen=True, kw_only=True)
class Start(Event):
    """Phase A is over: the call is connected (after ``ATD`` / ``ATA`` answered CONNECT)."""


@dataclass(frozen=True, kw_only=True)
class FrameReceived(Event):
    """A V.21 frame with a good FCS (non-final frames such as CSI or TSI each come on their own)."""

    frame: Frame

    def __post_init__(self):
        if not isinstance(self.frame, Frame):
            raise TypeError(f"FrameReceived needs a Frame, not {type(self.frame).__name__}")


@dataclass(frozen=True, kw_only=True)
class BadFrame(Event):
    """A frame was heard but is unusable (bad FCS, unparseable): T.30 treats it as not received."""

    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CarrierUp(Event):
    """A carrier appeared: high-speed (the page is starting) or V.21 (frames instead of a page)."""

    high_speed: bool = True


@dataclass(frozen=True, kw_only=True)
class CarrierDown(Event):
    """A carrier ended (informational; a page's end is reported with :class:`PageReceived`)."""


@dataclass(frozen=True, kw_only=True)
class TcfReceived(Event):
    """The octets received during TCF, as the modem delivered them, up to carrier loss."""

    data: bytes

    def __post_init__(self):
        object.__setattr__(self, "data", bytes(self.data))


class DecodeStatsLike(Protocol):
    rows: int
    bad_rows: int
    consecutive_bad_rows: int


@dataclass(frozen=True, kw_only=True)
class PageReceived(Event):
    """A page ended (carrier lost after image data); ``stats`` from :func:`faxpipe.codec.decode`."""

    stats: DecodeStatsLike

    def __post_init__(self):
        for name in ("rows", "bad_rows", "consecutive_bad_rows"):
            value = getattr(self.stats, name, None)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"PageReceived.stats.{name} must be a non-negative int, not {value!r}")


@dataclass(frozen=True, kw_only=True)
class PageSupplied(Event):
    """The caller's answer to :class:`RequestPage`: the page coded as asked, ending in RTC / EOFB,
    and what follows it: ``"page"`` (MPS), ``"document"`` (EOM, T.30 §5.3.6.1.5) or ``"end"`` (EOP)."""

    data: bytes
    following: str = "end"

    def __post_init__(self):
        object.__setattr__(self, "data", bytes(self.data))
        if self.following not in FOLLOWING:
            raise ValueError(f"following must be one of {sorted(FOLLOWING)}, not {self.following!r}")
        if not self.data:
            raise ValueError("a page needs at least its RTC / EOFB")


FOLLOWING = {"page": FCF.MPS, "document": FCF.EOM, "end": FCF.EOP}


@dataclass(frozen=True, kw_only=True)
class BlockReceived(Event):
    """ECM (T.4 Annex A): a partial page's high-speed carrier ended; ``frames`` maps each FCD frame
    number that arrived with a good FCS to its image octets (frames with a bad FCS are left out)."""

    frames: dict
    rcp: bool = True

    def __post_init__(self):
        frames = {int(n): bytes(d) for n, d in dict(self.frames).items()}
        if any(not 0 <= n < 256 for n in frames):
            raise ValueError("ECM frame numbers are 0-255")
        object.__setattr__(self, "frames", frames)


@dataclass(frozen=True, kw_only=True)
class LocalBusy(Event):
    """ECM receiver: we cannot take more image data now (``busy``) or can again — answered RNR
    while busy (T.30 Annex A, flow control)."""

    busy: bool = True


@dataclass(frozen=True, kw_only=True)
class TimePassed(Event):
    """Milliseconds spent waiting for the far end since the last event."""

    ms: int

    def __post_init__(self):
        if not isinstance(self.ms, int) or self.ms < 0:
            raise ValueError(f"TimePassed.ms must be a non-negative int, not {self.ms!r}")


@dataclass(frozen=True, kw_only=True)
class LineDropped(Event):
    """The line went dead (modem said NO CARRIER outside data, the far end hung up)."""


@dataclass(frozen=True, kw_only=True)
class Abort(Event):
    """Stop the call now (a local cancel, or after a RemoteProtocolError): DCN if we may speak."""

    completion: Completion = Completion.CANCELLED
    reason: str = ""


# --- actions ----------------------------------------------------------------------------------------

class Action:
    """Base of what the engine asks its driver to do."""

    __slots__ = ()


@dataclass(frozen=True, kw_only=True)
class SendFrames(Action):
    """Send one signal on V.21: the frames in order, the last one final (control 0x13)."""

    frames: tuple[Frame, ...]
    modulation: Modulation = V21

    def __post_init__(self):
        object.__setattr__(self, "frames", tuple(self.frames))
        if not self.frames or not self.frames[-1].final or any(f.final for f in self.frames[:-1]):
            raise ValueError("a signal is non-final frames followed by exactly one final frame")


@dataclass(frozen=True, kw_only=True)
class SendTcf(Action):
    """Send TCF: ``duration_ms`` of continuous zeros at the rate, long training (T.30 §5.3.2.2)."""

    modulation: Modulation
    duration_ms: int = TCF_MS

    @property
    def octets(self) -> int:
        return self.modulation.rate.bps * self.duration_ms // 8000


@dataclass(frozen=True, kw_only=True)
class SendPage(Action):
    """Send page ``number``'s data (as supplied, RTC included) at the rate, short training."""

    number: int
    data: bytes
    modulation: Modulation


@dataclass(frozen=True, kw_only=True)
class SendBlock(Action):
    """ECM (T.4 Annex A): send FCD frames of page ``number``'s partial page ``block`` — each
    ``(frame number, image octets)`` — then three RCP frames, all inside one high-speed carrier
    (HDLC framing, FCS and bit stuffing are the driver's: :func:`faxpipe.t30.hdlc.encode_block`)."""

    number: int
    block: int
    frames: tuple
    modulation: Modulation

    def __post_init__(self):
        object.__setattr__(self, "frames", tuple((int(n), bytes(d)) for n, d in self.frames))

    def hdlc_frames(self) -> list[bytes]:
        """Address, control, FCF, FIF of every frame (no FCS): the FCD frames, then 3 RCP."""
        fcd = [bytes((0xFF, 0x03, FCF.FCD, n)) + data for n, data in self.frames]
        return fcd + [bytes((0xFF, 0x03, FCF.RCP))] * 3

    @property
    def octets(self) -> int:
        return sum(len(d) + 6 for _, d in self.frames) + 15


@dataclass(frozen=True, kw_only=True)
class ReceiveBlock(Action):
    """ECM: receive a partial page (or its retransmitted frames) at the rate; report
    :class:`BlockReceived` at carrier loss (or :class:`CarrierUp` ``high_speed=False`` if V.21
    frames come instead)."""

    number: int
    modulation: Modulation
    params: PageParams
    timeout_ms: int


@dataclass(frozen=True, kw_only=True)
class PageData(Action):
    """ECM receiver: page ``number`` is complete — decode ``data`` with ``params`` and keep it
    (``complete`` False: EOR ended a partial page with frames missing)."""

    number: int
    data: bytes
    params: PageParams
    complete: bool = True


@dataclass(frozen=True, kw_only=True)
class ReceiveFrames(Action):
    """Listen on V.21 for frames; report them (or the time passing) as events."""

    timeout_ms: int
    modulation: Modulation = V21


@dataclass(frozen=True, kw_only=True)
class ReceiveTcf(Action):
    """Receive TCF at the rate (long training); report :class:`TcfReceived` at carrier loss."""

    modulation: Modulation
    timeout_ms: int


@dataclass(frozen=True, kw_only=True)
class ReceivePage(Action):
    """Receive page ``number`` at the rate (short training); decode it with ``params``; report
    :class:`CarrierUp` when it starts and :class:`PageReceived` when the carrier ends."""

    number: int
    modulation: Modulation
    params: PageParams
    timeout_ms: int


@dataclass(frozen=True, kw_only=True)
class RequestPage(Action):
    """Ask the caller for page ``number`` coded for ``params``; answer with :class:`PageSupplied`.
    The same page can be asked for again (after RTN, at a lower rate: a new ``min_bits``)."""

    number: int
    params: PageParams


@dataclass(frozen=True, kw_only=True)
class Negotiated(Action):
    """For logs and the CLI: the parameters of the transfer that follows (each DCS sent or taken)."""

    dcs: DCS
    remote_ident: str = ""


@dataclass(frozen=True, kw_only=True)
class PageResult(Action):
    """Page ``number`` was answered: ``response`` is MCF, RTP or RTN (ours when receiving, the far
    end's when sending). ``confirmed`` only for MCF and RTP — never otherwise."""

    number: int
    response: FCF
    confirmed: bool


@dataclass(frozen=True, kw_only=True)
class Hangup(Action):
    """Release the line (Class 1: ``ATH0``)."""


@dataclass(frozen=True, kw_only=True)
class CallFinished(Action):
    """The call is over; ``pages``: pages confirmed (sender) or accepted (receiver)."""

    completion: Completion
    pages: int
    reason: str = ""

    @property
    def delivery_error(self) -> DeliveryError | None:
        return self.completion.delivery_error
