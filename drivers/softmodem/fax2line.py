"""drivers.softmodem.fax2line — the line side of the Class 2 / 2.0 personalities (T.32 §7, T.30 on the line).

A Class 2 modem runs T.30 itself, so its transmitter and receiver are driven by faxpipe's T.30
engine instead of by AT commands; on the line they produce exactly what the Class 1 personality
produces for a Class 1 host (:mod:`.fax1`): V.21 channel 2 carriers of bit-stuffed HDLC frames
with their FCS after ≈1 s of flags, TCF and page data on high-speed carriers after training, with
the modem's faults applied by the transmitter. Mixed into :class:`~drivers.softmodem.dce.SoftModem`
after :class:`~drivers.softmodem.fax1.Class1`, whose pacing (``_put``), fault state and frame
builder it reuses.

Listening is half duplex as on a real line: after each of our transmissions, whatever the far
modem started meanwhile is lost (a collision); a carrier the far end sent while our host was slow
to ask is still heard once (the modem buffers it), and never twice.
"""

from __future__ import annotations

import time

from faxpipe.t30.hdlc import PREAMBLE_FLAGS, bits_to_octets

from .fax1 import FLAG_BITS, PIECE_SECONDS, RxSession
from .line import MODULATIONS, same_modulation

GAP_SECONDS = 0.075        # T.30 §5.3.2.4: 75 ± 20 ms between two signals
GAP_LIMIT = 3.0            # seconds (real) we wait for the far carrier to stop before talking anyway
TIMER_SCALE_CAP = 5.0      # T.30 timers run at most this many times faster than real time
REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def reverse_bits(data: bytes) -> bytes:
    """Every octet with its bit order reversed (``+FBO`` / ``+FBOR`` phase C, T.32 §8.5.1.4)."""
    return bytes(data).translate(REVERSED)


def rtc_bytes(two_d: bool) -> bytes:
    """RTC (T.4 §4.1.4): six EOLs (MR: EOL + 1 each), line order LSB first, zero-padded to an octet."""
    eol = [0] * 11 + [1] + ([1] if two_d else [])
    bits = eol * 6
    out = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        out[i >> 3] |= bit << (i & 7)
    return bytes(out)


class Class2Line:
    """Transmit and receive T.30 signals for the Class 2 / 2.0 personalities."""

    def _timer_scale(self) -> float:
        return min(self.exchange.rate_scale, TIMER_SCALE_CAP)

    def _line_real(self, ms: int) -> float:
        """T.30 milliseconds → real seconds."""
        return ms / 1000.0 / self._timer_scale()

    def _line_ms(self, seconds: float) -> int:
        return int(seconds * 1000 * self._timer_scale())

    # -- transmitting ------------------------------------------------------------------------------
    def _l_gap(self, call) -> None:
        """Wait until the far carrier has been off for 75 ms (scaled) before we transmit."""
        need = self.exchange.scaled(GAP_SECONDS)
        give_up = time.monotonic() + GAP_LIMIT
        while call.up and time.monotonic() < give_up:
            with self.cond:
                far = call.far(self)
                busy = far.current is not None
                since = far.silent_since
            if not busy and time.monotonic() - since >= need:
                return
            self._wait(lambda: not call.up or (far.current is None) != (not busy),
                       min(give_up, time.monotonic() + (need if not busy else 0.05)))

    def _l_mark_stale(self, call) -> None:
        """Everything the far modem started before now collided with our transmission: lost."""
        with self.cond:
            now = time.monotonic()
            for carrier in call.far(self).carriers if call.channels else ():
                if carrier.start <= now:
                    carrier.c2_done = True
            self._c2_rx = None

    def _l_send_frames(self, call, frames: list[bytes]) -> bool:
        """One V.21 signal: preamble, the frames (FCS added, stuffed), closing flag. False if the
        call is gone or cut (a ``cut`` fault) meanwhile."""
        self._l_gap(call)
        faults = self._fault_state(call)
        with self.cond:
            if not call.up:
                return False
            now = time.monotonic()
            carrier = call.own(self).start(3, now, now)
            self._tx_due = now
        bits = FLAG_BITS * PREAMBLE_FLAGS
        for frame in frames:
            fault = faults.frame(frame)
            if fault == "cut":
                self._put(call, carrier, bits_to_octets(bits + [1] * (-len(bits) % 8)), 300)
                self.exchange.end(call, f"cut before frame {frame.hex(' ')} (fault)")
                return False
            bits += self._frame_line_bits(frame, fault, faults) + FLAG_BITS + FLAG_BITS
        bits += [1] * (-len(bits) % 8)
        ok = self._put(call, carrier, bits_to_octets(bits), 300)
        self._stop(call, carrier)
        self._l_mark_stale(call)
        return ok

    def _l_start_hs(self, call, code: int):
        """Start a high-speed carrier (training first); returns (carrier, bit/s, trained time)."""
        self._l_gap(call)
        _, bps, training = MODULATIONS[code]
        self._fault_state(call).start_data()
        with self.cond:
            now = time.monotonic()
            trained = now + self.exchange.scaled(training)
            carrier = call.own(self).start(code, now, trained)
            self._tx_due = trained
        return carrier, bps, trained

    def _l_put_hs(self, call, carrier, data: bytes, bps: int) -> bool:
        """Put high-speed octets on the line (bit errors applied); False if the call went away
        or a ``cut=data:…`` fault ended it."""
        faults = self._fault_state(call)
        piece = max(1, int(bps * self.exchange.rate_scale * PIECE_SECONDS / 8))
        for i in range(0, len(data), piece):
            chunk, cut = faults.data(data[i:i + piece])
            if not self._put(call, carrier, chunk, bps):
                return False
            if cut:
                self.exchange.end(call, f"cut in high-speed carrier {faults.carriers} (fault)")
                return False
        return True

    def _l_end_hs(self, call, carrier) -> None:
        self._sleep_until(self._tx_due)
        self._stop(call, carrier)
        self._l_mark_stale(call)

    def _l_send_hs(self, call, code: int, data: bytes) -> bool:
        carrier, bps, _ = self._l_start_hs(call, code)
        if not self._l_put_hs(call, carrier, data, bps):
            return False
        self._l_end_hs(call, carrier)
        return call.up

    # -- receiving ---------------------------------------------------------------------------------
    def _l_signature(self, call):
        far = call.far(self) if call.channels else None
        latest = far.latest if far else None
        return (call.up, len(far.carriers) if far else 0, id(latest),
                len(latest.chunks) if latest else 0, latest.ended if latest else None)

    def _l_wait_change(self, call, deadline: float) -> bool:
        """Wait until something changes on the far channel; False at the deadline."""
        with self.cond:
            before = self._l_signature(call)
        return self._wait(lambda: self._l_signature(call) != before, deadline)

    def _l_unheard(self, call):
        """The far end's oldest carrier this modem has not dealt with yet, or None."""
        for carrier in call.far(self).carriers:
            if not getattr(carrier, "c2_done", False):
                return carrier
        return None

    def _l_recv_frame(self, call, deadline: float):
        """("frame", Deframed), ("timeout", None) or ("gone", None). High-speed carriers heard
        while listening for frames are skipped (the T.30 receiver only hears V.21 here)."""
        while True:
            with self.cond:
                if not call.up:
                    return "gone", None
                rx = self._c2_rx
                if rx is not None:
                    rx.pull()
                    while rx.frames:
                        frame = rx.frames.popleft()
                        if not frame.data:
                            continue  # aborted, or not whole octets
                        if frame.ok and len(frame.data) >= 2 and frame.data[1] & 0x10:
                            rx.carrier.c2_done = True    # the final frame: the signal is over
                            self._c2_rx = None
                        return "frame", frame
                    if rx.carrier.ended and not rx.pending:
                        rx.carrier.c2_done = True
                        self._c2_rx = None
                        continue
                else:
                    carrier = self._l_unheard(call)
                    if carrier is not None:
                        if carrier.hdlc:
                            self._c2_rx = RxSession(carrier)
                            continue
                        if carrier.ended:
                            carrier.c2_done = True
                            continue
            if not self._l_wait_change(call, deadline):
                return "timeout", None

    def _l_recv_hs(self, call, code: int, deadline: float):
        """("carrier", c) of modulation ``code``, ("v21", None) when frames come instead,
        ("timeout", None) or ("gone", None). Carriers of another rate are not demodulated."""
        while True:
            with self.cond:
                if not call.up:
                    return "gone", None
                carrier = self._l_unheard(call)
                if carrier is not None:
                    if carrier.hdlc:
                        return "v21", None
                    if same_modulation(carrier.mod, code):
                        carrier.c2_done = True
                        return "carrier", carrier
                    carrier.c2_done = True
                    continue
            if not self._l_wait_change(call, deadline):
                return "timeout", None

    def _l_collect(self, call, carrier, deadline: float) -> bytes:
        """All octets of a high-speed carrier, up to its end (or the call's, or the deadline)."""
        self._wait(lambda: carrier.ended or not call.up, deadline)
        with self.cond:
            return b"".join(carrier.chunks)

    def _l_stream(self, call, carrier, sink, deadline: float) -> bytes:
        """Pass a carrier's octets to ``sink`` as they arrive; returns them all at its end."""
        pos = 0
        while True:
            with self.cond:
                chunks = carrier.chunks[pos:]
                pos += len(chunks)
                over = carrier.ended or not call.up
            if chunks:
                sink(b"".join(chunks))
                continue
            if over or time.monotonic() > deadline:
                with self.cond:
                    return b"".join(carrier.chunks[:pos])
            seen = pos
            self._wait(lambda: len(carrier.chunks) > seen or carrier.ended or not call.up, deadline)
