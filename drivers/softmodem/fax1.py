"""drivers.softmodem.fax1 — the Class 1 (ITU-T T.31) commands of the software modem.

Mixed into :class:`drivers.softmodem.dce.SoftModem`. What the DTE sees (T.31 §8.3; spandsp ``t31.c``
behaviour, fax-protocol.md §4.7):

``+FCLASS=?``  ``0,1``; ``+FCLASS=1`` selects fax Class 1.
``+FTH=3``     CONNECT; V.21 flags start (≈1 s preamble). The DTE sends address, control, FCF, FIF
               without FCS, DLE-doubled, ending DLE ETX; the modem adds the FCS, bit-stuffs and
               sends. Control 0x03 → CONNECT (next frame please); 0x13 (final) → closing flags,
               carrier off, OK. DLE ETX alone ends the carrier with OK. No frame within 5 s
               (spandsp's DTE-inactivity limit) → carrier off, ERROR.
``+FRH=3``     CONNECT when V.21 flags arrive; each frame goes to the DTE *with* its two FCS
               octets, DLE-doubled, DLE ETX, then OK (good FCS) or ERROR (bad). The OK of a final
               frame comes only when the carrier drops. High-speed carrier on the line → +FCERROR.
``+FTM=n``     CONNECT before training; data DLE-doubled until DLE ETX; OK after its last bit has
               left at the line rate. Stalls of 5 s → ERROR.
``+FRM=n``     CONNECT after the far modem's training; data as it arrives; on carrier loss a few
               zero octets, DLE ETX, NO CARRIER. Another modulation on the line → +FCERROR.
``+FTS=n``     n × 10 ms of silence, OK.  ``+FRS=n``: OK after n × 10 ms of *line* silence.
Any character from the DTE while the modem waits for a carrier (+FRH, +FRM, +FRS) aborts: OK.
Modulation codes (T.31 Table 4): 3 = V.21 ch 2; 24/48 V.27ter; 72/96 V.29; 73/74, 97/98, 121/122,
145/146 V.17 long/short training. ``+FDD=1``: two data DLEs go to the DTE as DLE SUB (T.31 §8.5.3).
When the call goes away, pending operations end with NO CARRIER.
"""

from __future__ import annotations

import time
from collections import deque

from drivers.at import DLE_ETX, DleDecoder, dle_stuff
from faxpipe.errors import ModemError
from faxpipe.t30.hdlc import FLAG, MAX_FRAME, PREAMBLE_FLAGS, Deframer, add_fcs, bits_to_octets, frame_bits, \
    octets_to_bits, stuff

from .line import CARRIER_CAP, HIGH_SPEED, MODULATIONS, FaultState, same_modulation

DTE_INACTIVITY = 5.0       # seconds (spandsp t31.c: transmit aborted when the DTE stalls 5 s)
PIECE_SECONDS = 0.05       # line time per octet group put on the line
FLAG_BITS = octets_to_bits(bytes((FLAG,)))
TRAILING_ZEROS = 4         # octets a receiving modem delivers after the far carrier drops
DONE = "DONE"


class RxSession:
    """A receiver listening to one V.21 carrier: line octets through the HDLC deframer."""

    def __init__(self, carrier):
        self.carrier = carrier
        self.pos = 0
        self.deframer = Deframer()
        self.frames: deque = deque(maxlen=16)

    def pull(self) -> None:
        chunks = self.carrier.chunks
        while self.pos < len(chunks):
            self.frames.extend(self.deframer.feed(chunks[self.pos]))
            self.pos += 1

    @property
    def pending(self) -> bool:
        return any(frame.data for frame in self.frames) or self.pos < len(self.carrier.chunks)


def _mod_list(codes) -> str:
    return ",".join(str(c) for c in codes)


def text_reply(text: str):
    """A command handler for an identification query (``+FMI``, ``+FMFR`` …): the text, or ERROR
    for anything but the action or read form (V.250 §6.1)."""
    def handler(self, cmd):
        if cmd.op not in ("", "?"):
            return "ERROR"
        self._info(text)
        return None
    return handler


class Class1:
    """The +F commands of T.31 and the V.21 / high-speed transmit and receive procedures."""

    def _class1_reset(self) -> None:
        self._rx = None
        self._fs = None
        self._fs_call = None
        self._tx_due = 0.0

    def _fault_state(self, call) -> FaultState:
        if self._fs_call is not call:
            self._fs, self._fs_call = FaultState(self.faults), call
        return self._fs

    # -- parameters ----------------------------------------------------------------------------------
    def _fclass(self, cmd):
        if cmd.op == "=?":
            self._info("0,1")
        elif cmd.op == "?":
            self._info(str(self.fclass))
        elif cmd.op == "=" and cmd.value.strip() in ("0", "1"):
            self.fclass = int(cmd.value)
        else:
            return "ERROR"
        return None

    def _setting(attr: str, values: str, top: int):
        def handler(self, cmd):
            if cmd.op == "=?":
                self._info(values)
            elif cmd.op == "?":
                self._info(str(getattr(self, attr)))
            elif cmd.op == "=" and cmd.number <= top:
                setattr(self, attr, cmd.number)
            else:
                return "ERROR"
            return None
        return handler

    def _accept(self, cmd):
        return None

    def _modulation(kind: str):
        codes = (3,) if kind in ("FTH", "FRH") else HIGH_SPEED

        def handler(self, cmd):
            if self.fclass != 1:
                return "ERROR"
            if cmd.op == "=?":
                self._info(_mod_list(codes))
                return None
            if cmd.op != "=" or cmd.number not in codes:
                return "ERROR"
            getattr(self, "_" + kind.lower())(cmd.number)
            return DONE
        return handler

    def _silence(kind: str):
        def handler(self, cmd):
            if self.fclass != 1:
                return "ERROR"
            if cmd.op == "=?":
                self._info("0-255")
                return None
            if cmd.op != "=" or cmd.number > 255:
                return "ERROR"
            getattr(self, "_" + kind.lower())(cmd.number)
            return DONE
        return handler

    EXTENDED = {
        "+FCLASS": _fclass,
        "+FTH": _modulation("FTH"), "+FRH": _modulation("FRH"),
        "+FTM": _modulation("FTM"), "+FRM": _modulation("FRM"),
        "+FTS": _silence("FTS"), "+FRS": _silence("FRS"),
        "+FAR": _setting("far", "0,1", 1), "+FDD": _setting("fdd", "0,1", 1),
        "+FLO": _setting("flo", "0-2", 2),
        "+FMI": text_reply("faxpipe"), "+GMI": text_reply("faxpipe"),
        "+FMM": text_reply("softmodem"), "+GMM": text_reply("softmodem"),
        "+FMR": text_reply("0.1"), "+GMR": text_reply("0.1"),
        "+FPR": _accept, "+IPR": _accept, "+FIT": _accept, "+FAA": _accept, "+IFC": _accept,
    }
    del _setting, _modulation, _silence

    # -- the line ---------------------------------------------------------------------------------------
    def _put(self, call, carrier, octets: bytes, bps: int) -> bool:
        """Put ``octets`` on the line at ``bps`` (scaled); False if the call went away meanwhile."""
        rate = bps * self.exchange.rate_scale
        piece = max(1, int(rate * PIECE_SECONDS / 8))
        now = time.monotonic()
        if now > self._tx_due + 0.1:   # the DTE was late (underflow): the line idled meanwhile
            self._tx_due = now
        for i in range(0, len(octets), piece):
            part = bytes(octets[i:i + piece])
            self._tx_due += len(part) * 8 / rate
            self._sleep_until(self._tx_due)
            with self.cond:
                if not call.up or carrier.ended:
                    return False
                carrier.push(part)
                self.cond.notify_all()
        return True

    def _stop(self, call, carrier) -> None:
        with self.cond:
            if call.channels and not carrier.ended:
                call.own(self).stop(time.monotonic())
                self.cond.notify_all()

    def _read_block(self, limit: int) -> bytes | None:
        """One DLE block from the DTE (up to DLE ETX), or None after DTE_INACTIVITY / overflow."""
        decoder = DleDecoder(limit)
        out = bytearray()
        while not decoder.done:
            chunk = self._take(time.monotonic() + DTE_INACTIVITY)
            if chunk is None:
                return None
            try:
                out += decoder.feed(chunk)
            except ModemError:
                self._drain_block()
                return None
        self._unread(decoder.rest)
        return bytes(out)

    def _drain_block(self) -> None:
        """Discard DTE data up to DLE ETX (or a second of quiet) after an aborted transmission."""
        decoder = DleDecoder(1 << 62)
        while not decoder.done:
            chunk = self._take(time.monotonic() + 1.0)
            if chunk is None:
                return
            decoder.feed(chunk)
        self._unread(decoder.rest)

    def _await_carrier(self, *, hdlc: bool):
        """The far carrier to receive, or a result code: NO CARRIER (no call) / OK (DTE abort)."""
        call = self.call
        if call is None or not call.up:
            return "NO CARRIER"
        far = call.far(self)

        def continuing():  # frames of a carrier this receiver was already listening to
            rx = self._rx
            if not hdlc or rx is None or rx.carrier is not far.latest:
                return False
            rx.pull()
            return any(frame.data for frame in rx.frames)

        self._wait(lambda: not call.up or far.current is not None or continuing() or bool(self._in))
        with self.cond:
            if not call.up:
                return "NO CARRIER"
            if continuing():
                return far.latest
            if far.current is not None:
                return far.current
        self._dte_spoke()
        return "OK"

    def _listen(self, mod: int):
        """The far carrier if it has modulation ``mod``; else None, the result code given
        (NO CARRIER, OK after a DTE abort, +FCERROR for another modulation: T.31 §8.3.4-8.3.6)."""
        got = self._await_carrier(hdlc=mod == 3)
        if isinstance(got, str):
            self._result(got)
            return None
        if got.hdlc != (mod == 3) or not same_modulation(got.mod, mod):
            self._result("+FCERROR")
            return None
        return got

    # -- V.21 HDLC ---------------------------------------------------------------------------------------
    def _fth(self, mod: int) -> None:
        """+FTH=3 (T.31 §8.3.5); also the implied one after ATA."""
        call = self.call
        if call is None or not call.up:
            self._result("NO CARRIER")
            return
        faults = self._fault_state(call)
        with self.cond:
            now = time.monotonic()
            carrier = call.own(self).start(3, now, now)
            self._tx_due = now
        self._result("CONNECT")
        bits = FLAG_BITS * PREAMBLE_FLAGS
        if not self._put(call, carrier, bits_to_octets(bits), 300):
            self._drain_block()
            self._result("NO CARRIER")
            return
        bits = []
        while True:
            frame = self._read_block(MAX_FRAME)
            if frame is None:
                self._stop(call, carrier)
                self._result("ERROR")
                return
            if not call.up:
                self._result("NO CARRIER")
                return
            if not frame:
                self._stop(call, carrier)
                self._result("OK")
                return
            fault = faults.frame(frame)
            if fault == "cut":
                self.exchange.end(call, f"cut before frame {frame.hex(' ')} (fault)")
                self._result("NO CARRIER")
                return
            bits += self._frame_line_bits(frame, fault, faults) + FLAG_BITS + FLAG_BITS
            final = len(frame) >= 2 and frame[1] & 0x10
            if final:
                bits += [1] * (-len(bits) % 8)
            whole = len(bits) // 8 * 8
            octets, bits = bits_to_octets(bits[:whole]), bits[whole:]
            if not self._put(call, carrier, octets, 300):
                self._result("NO CARRIER")
                return
            if final:
                self._stop(call, carrier)
                self._result("OK")
                return
            self._result("CONNECT")

    @staticmethod
    def _frame_line_bits(frame: bytes, fault: str, faults: FaultState) -> list[int]:
        if fault == "drop":   # lost in noise: the receiver sees as many flags as the frame lasted
            n = len(frame_bits(frame))
            return FLAG_BITS * ((n + 7) // 8)
        if fault == "corrupt":
            data = bytearray(add_fcs(frame))
            bit = faults.rng.randrange(8 * (len(data) - 2))
            data[bit >> 3] ^= 1 << (bit & 7)
            return stuff(octets_to_bits(bytes(data)))
        return frame_bits(frame)

    def _frh(self, mod: int) -> None:
        """+FRH=3 (T.31 §8.3.6); also the implied one after ATD."""
        carrier, call = self._listen(3), self.call
        if carrier is None:
            return
        rx = self._rx
        if rx is None or rx.carrier is not carrier:
            rx = self._rx = RxSession(carrier)
        self._wait(lambda: bool(carrier.chunks) or carrier.ended or not call.up or bool(self._in))
        if not carrier.chunks:
            self._result("OK" if self._dte_spoke() else "NO CARRIER")
            return
        self._result("CONNECT")
        while True:
            with self.cond:
                rx.pull()
                frame = rx.frames.popleft() if rx.frames else None
            if frame is not None:
                if not frame.data:
                    continue      # aborted or not whole octets: nothing a modem would pass on
                self._emit(dle_stuff(frame.data, sub=bool(self.fdd)) + DLE_ETX)
                if not frame.ok:
                    self._result("ERROR")
                    return
                if len(frame.data) >= 2 and frame.data[1] & 0x10:
                    self._wait(lambda: carrier.ended or not call.up)
                    self._rx = None   # the signal is over: the next +FRH waits for a new carrier
                self._result("OK")
                return
            if carrier.ended and not rx.pending:
                self._rx = None
                self._result("NO CARRIER")
                return
            if not call.up:
                self._result("NO CARRIER")
                return
            if self._dte_spoke():
                self._result("OK")
                return
            pos = rx.pos
            self._wait(lambda: len(carrier.chunks) > pos or carrier.ended or not call.up or bool(self._in))

    # -- high-speed data -------------------------------------------------------------------------------
    def _ftm(self, mod: int) -> None:
        """+FTM=n (T.31 §8.3.3): CONNECT before training, data paced at the line rate, OK."""
        call = self.call
        if call is None or not call.up:
            self._result("NO CARRIER")
            return
        name, bps, training = MODULATIONS[mod]
        faults = self._fault_state(call)
        faults.start_data()
        with self.cond:
            now = time.monotonic()
            trained = now + self.exchange.scaled(training)
            carrier = call.own(self).start(mod, now, trained)
            self._tx_due = trained
        self._result("CONNECT")
        decoder = DleDecoder(CARRIER_CAP)
        piece = max(1, int(bps * self.exchange.rate_scale * PIECE_SECONDS / 8))
        while not decoder.done:
            raw = self._take(max(time.monotonic(), trained) + DTE_INACTIVITY, limit=piece)
            if raw is None:
                self._stop(call, carrier)
                self._result("ERROR")
                return
            try:
                data = decoder.feed(raw)
            except ModemError:
                self._stop(call, carrier)
                self._drain_block()
                self._result("ERROR")
                return
            cut = False
            if data:
                data, cut = faults.data(data)
                if not self._put(call, carrier, data, bps):
                    self._drain_block()
                    self._result("NO CARRIER")
                    return
            if cut:
                self.exchange.end(call, f"cut in high-speed carrier {faults.carriers} (fault)")
                self._drain_block()
                self._result("NO CARRIER")
                return
        self._unread(decoder.rest)
        self._sleep_until(self._tx_due)
        self._stop(call, carrier)
        self._result("OK")

    def _frm(self, mod: int) -> None:
        """+FRM=n (T.31 §8.3.4): CONNECT once trained, data, then DLE ETX and NO CARRIER."""
        carrier, call = self._listen(mod), self.call
        if carrier is None:
            return
        self._wait(lambda: carrier.ended or not call.up or bool(self._in), carrier.trained_at)
        if self._dte_spoke():
            self._result("OK")
            return
        if (carrier.ended or not call.up) and not carrier.chunks:
            self._result("NO CARRIER")
            return
        self._result("CONNECT")
        pos, had = 0, False
        sub = bool(self.fdd)
        while True:
            with self.cond:
                chunks = carrier.chunks[pos:]
                pos += len(chunks)
                over = carrier.ended or not call.up
            if chunks:
                self._emit(dle_stuff(b"".join(chunks), sub=sub))
                had = True
                continue
            if over:
                if had:
                    self._emit(bytes(TRAILING_ZEROS))
                    # the carrier's tail, 30 ms of line time (scaled like every line time, so
                    # that fast test lines do not make the DTE miss the frame that follows)
                    self._sleep_until(time.monotonic() + self.exchange.scaled(0.03))
                self._emit(DLE_ETX)
                self._result("NO CARRIER")
                return
            if self._dte_spoke():
                self._emit(DLE_ETX)
                self._result("OK")
                return
            seen = pos
            self._wait(lambda: len(carrier.chunks) > seen or carrier.ended or not call.up or bool(self._in))

    # -- silences ----------------------------------------------------------------------------------------
    def _fts(self, n: int) -> None:
        """+FTS=n (T.31 §8.3.1): transmit silence for n × 10 ms."""
        self._sleep_until(time.monotonic() + self.exchange.scaled(n * 0.01))
        self._result("OK")

    def _frs(self, n: int) -> None:
        """+FRS=n (T.31 §8.3.2): wait for n × 10 ms of silence on the line; DTE abort → OK."""
        need = self.exchange.scaled(n * 0.01)
        call = self.call
        if call is None or not call.up:
            self._sleep_until(time.monotonic() + need)
            self._result("OK")
            return
        far = call.far(self)
        while True:
            with self.cond:
                busy = far.current is not None
                since = far.silent_since
            if not call.up or (not busy and time.monotonic() - since >= need):
                break
            if self._dte_spoke():
                break
            self._wait(lambda: (far.current is not None) != busy or not call.up or bool(self._in),
                       None if busy else since + need)
        self._result("OK")
