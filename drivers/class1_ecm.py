"""drivers.class1_ecm — error correction mode (T.30 Annex A) over a Class 1 modem, and the
retry policy for calls that ended partway.

A Class 1 modem's ``+FTM`` / ``+FRM`` move raw octets at the high-speed rate; in ECM the image
travels in HDLC frames *inside* that data (T.4 Annex A), and the DTE builds and checks them itself
— flags, bit stuffing, FCS — as HylaFAX does, because spandsp 0.0.6's T.31 (and most modems)
answer ``+FTH=?`` with 3 only (no HDLC at high speed). So:

* ``SendBlock`` → ``AT+FTM=<code>`` with :func:`faxpipe.t30.hdlc.encode_block` of the FCD frames
  and three RCP frames (long training after CTC / CTR, short otherwise);
* ``ReceiveBlock`` → ``AT+FRM=<code>``, the data up to carrier loss cut into frames by
  :func:`faxpipe.t30.hdlc.deframe_block`; good FCD frames go to the engine as ``BlockReceived``.
  ``+FCERROR`` right after we sent PPR (or MCF, CFR) is the classic ECM trouble (HylaFAX: the
  sender's carrier starts while we are still switching, fax-protocol.md §3.2 complaint 1): the
  driver re-issues ``+FRM`` up to :data:`FRM_PERSISTENCE` times before it believes V.21 is on
  the line and hands over to ``+FRH=3`` (HylaFAX ``Class1RMPersistence``);
* ``PageData`` → the receiver's page is decoded (no copy-quality check in ECM) and kept.

Retrying the rest of a document (:func:`retry_plan`, :class:`RetryPlan`) — the documented default
policy for a call that ended partway: send again only the pages the receiver did not confirm; on
the first retry drop to 9 600 bit/s (half pages at 14 400 are the usual cause, gofaxip #29,
fax-protocol.md §3.2 complaint 9); on the second also toggle ECM; later retries keep both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from faxpipe import codec
from faxpipe.errors import CodecError
from faxpipe.t30 import hdlc
from faxpipe.t30.events import BlockReceived, PageData, ReceiveBlock, SendBlock
from faxpipe.t30.frames import FCF

FRM_PERSISTENCE = 3     # +FRM retries after +FCERROR while an ECM block is expected
FRM_RETRY_PAUSE = 0.02  # seconds between them


class EcmSupport:
    """Mixed into :class:`drivers.class1.Class1Modem`: the ECM actions of the engine."""

    def _send_block(self, act: SendBlock) -> None:
        data = hdlc.encode_block(act.hdlc_frames())
        self.ch.transcript.note(f"page {act.number} block {act.block}: {len(act.frames)} frame(s), "
                                f"{len(data)} octets in HDLC")
        self.result.blocks.append((act.number, act.block, len(act.frames)))
        self._send_high_speed(act.modulation, data, f"page {act.number} block {act.block}")

    def _block_event(self, act: ReceiveBlock, data: bytes) -> BlockReceived:
        frames, bad, rcp = {}, 0, False
        for got in hdlc.deframe_block(data):
            if not got.ok:
                bad += 1
                continue
            payload = got.payload
            if len(payload) >= 3 and payload[2] == FCF.RCP:
                rcp = True
            elif len(payload) >= 4 and payload[2] == FCF.FCD:
                frames[payload[3]] = payload[4:]
        self.ch.transcript.note(f"page {act.number} block: {len(data)} octets, {len(frames)} good frame(s), "
                                f"{bad} bad, RCP {'seen' if rcp else 'missing'}")
        return BlockReceived(frames=frames, rcp=rcp)

    def _page_data(self, act: PageData) -> None:
        p = act.params
        try:
            page, stats = codec.decode(act.data, p.coding, p.width, bit_order="lsb",
                                       xres=float(p.resolution.xdpi), yres=float(p.resolution.ydpi))
        except CodecError as exc:
            self.ch.transcript.note(f"page {act.number} (ECM) undecodable: {exc.reason}")
            return
        self.ch.transcript.note(f"page {act.number} (ECM): {len(act.data)} octets {p.coding.upper()}, "
                                f"{stats.rows} rows, {stats.bad_rows} bad")
        self._rx_pages[act.number] = page

    def _frm_persist(self, act, tries: int) -> bool:
        """True when +FCERROR should be answered with another +FRM (ECM blocks only)."""
        if isinstance(act, ReceiveBlock) and tries < FRM_PERSISTENCE:
            self.ch.transcript.note("+FCERROR while an ECM block is due: +FRM again")
            time.sleep(FRM_RETRY_PAUSE)
            return True
        return False


@dataclass(frozen=True)
class RetryPlan:
    """What the next attempt sends and how: ``pages`` (1-based numbers in the document) and the
    options for :class:`drivers.class1.Class1Modem` (``max_rate``, ``ecm``)."""

    pages: tuple[int, ...]
    max_rate: int | None
    ecm: bool

    @property
    def options(self) -> dict:
        return {"max_rate": self.max_rate, "ecm": self.ecm}


def remaining_pages(result, total: int | None = None) -> tuple[int, ...]:
    """The page numbers a call did not get confirmed (MCF, or PPS→MCF in ECM)."""
    total = total if total is not None else result.pages_total
    confirmed = {r.number for r in result.results if r.confirmed}
    return tuple(n for n in range(1, total + 1) if n not in confirmed)


def retry_plan(result, *, attempt: int = 1, ecm: bool = True, max_rate: int | None = None) -> RetryPlan:
    """The default policy for attempt ``attempt`` (1 = the first retry) after ``result``: only the
    pages not yet confirmed; 9 600 bit/s from the first retry; ECM toggled from the second."""
    rate = 9600 if max_rate is None else min(max_rate, 9600)
    used_ecm = any(d.ecm for d in result.negotiated) if result.negotiated else ecm
    return RetryPlan(pages=remaining_pages(result), max_rate=rate,
                     ecm=(not used_ecm) if attempt >= 2 else ecm)
