"""A scripted DCE behind the pyserial interface, for the Class 1 driver's AT exchange tables.

``ScriptedModem(table)`` plays a modem from a table of ``(what the DTE sends, what the DCE
answers)`` rows, in order (as spandsp's ``t31_tests.c`` scripts its exchanges). What the DTE sends:

* ``"AT+FRH=3"`` — that command line (CR added);
* ``frame("DCS")`` — one DLE block (ending DLE ETX) holding a frame with that FCF, no FCS;
* ``data()`` — one DLE block of any content (TCF, a page): kept in :attr:`ScriptedModem.blocks`;
* ``ABORT`` — the one-character abort of a receive (T.31 §8.3);
* ``WAIT`` — nothing: the row's answer comes ``seconds`` later on its own (``WAIT, 0.2, b"..."``).

A row's answer (bytes) is sent as soon as the row matched. Anything else the DTE sends is a
mismatch, kept in :attr:`ScriptedModem.errors` (the DCE then goes silent, as a confused modem does).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from drivers.at import DLE_ETX, DleDecoder, dle_stuff
from faxpipe.t30.frames import Frame
from faxpipe.t30.hdlc import add_fcs

ABORT = "<abort>"
WAIT = "<wait>"


@dataclass(frozen=True)
class _Frame:
    fcf: str


@dataclass(frozen=True)
class _Data:
    pass


def frame(fcf: str) -> _Frame:
    return _Frame(fcf)


def data() -> _Data:
    return _Data()


def ok(text: str = "OK") -> bytes:
    return f"\r\n{text}\r\n".encode()


def hdlc(frame_: Frame, *, fcs: bool = True, result: str = "OK") -> bytes:
    """CONNECT, the frame as +FRH delivers it (with its FCS unless ``fcs=False``), the result."""
    raw = add_fcs(frame_.encode()) if fcs else frame_.encode()
    return ok("CONNECT") + dle_stuff(raw) + DLE_ETX + ok(result)


def high_speed(payload: bytes) -> bytes:
    """+FRM: CONNECT, the data with a few trailing zeros, DLE ETX, NO CARRIER."""
    return ok("CONNECT") + dle_stuff(payload + bytes(4)) + DLE_ETX + ok("NO CARRIER")


class ScriptedModem:
    """Enough of ``serial.Serial`` for drivers.at / drivers.class1, answering from a table."""

    def __init__(self, table):
        self.rows = deque()
        for row in table:
            if row[0] is WAIT:
                self.rows.append(row)
            else:
                self.rows.append((row[0], row[1] if len(row) > 1 else b""))
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.blocks: list[bytes] = []
        self.frames: list[Frame] = []
        self.sent: list[str] = []
        self.errors: list[str] = []
        self.cond = threading.Condition()
        self.timeout = 0.1
        self.write_timeout = None
        self.xonxoff = False
        self.rtscts = False
        self.dtr = True
        self.flow_log: list[tuple[str, bool]] = []
        self._timer: threading.Timer | None = None
        self._arm()

    # -- pyserial surface ------------------------------------------------------------------------------
    def __setattr__(self, name, value):
        if name == "xonxoff" and "flow_log" in self.__dict__:
            self.flow_log.append((self.sent[-1] if self.sent else "", bool(value)))
        object.__setattr__(self, name, value)

    @property
    def in_waiting(self) -> int:
        return len(self.outbuf)

    def read(self, size: int = 1) -> bytes:
        deadline = time.monotonic() + (self.timeout or 0)
        with self.cond:
            while not self.outbuf:
                left = deadline - time.monotonic()
                if left <= 0:
                    return b""
                self.cond.wait(left)
            out = bytes(self.outbuf[:size])
            del self.outbuf[:size]
            return out

    def write(self, payload: bytes) -> int:
        with self.cond:
            self.inbuf += payload
            self._step()
        return len(payload)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    # -- the script --------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return not self.rows

    def _answer(self, reply: bytes) -> None:
        self.outbuf += reply
        self.cond.notify_all()

    def _arm(self) -> None:
        """A WAIT row at the head: answer by itself after its delay."""
        if self.rows and self.rows[0][0] is WAIT and self._timer is None:
            _, seconds, reply = self.rows[0]

            def fire():
                with self.cond:
                    self._timer = None
                    if self.rows and self.rows[0][0] is WAIT:
                        self.rows.popleft()
                        self.sent.append(WAIT)
                        self._answer(reply)
                        self._step()

            self._timer = threading.Timer(seconds, fire)
            self._timer.daemon = True
            self._timer.start()

    def _step(self) -> None:
        while self.rows and self.inbuf and not self.errors:
            expect, reply = self.rows[0]
            if expect is WAIT:
                return
            used = self._match(expect)
            if used is None:
                return
            del self.inbuf[:used]
            self.rows.popleft()
            self._answer(reply)
            self._arm()

    def _match(self, expect):
        buf = bytes(self.inbuf)
        if expect is ABORT:
            if buf[:1] == b"\x18":
                self.sent.append(ABORT)
                return 1
            return self._mismatch(expect, buf)
        if isinstance(expect, str):
            end = buf.find(b"\r")
            if end < 0:
                return None
            line = buf[:end].decode("latin-1")
            if line != expect:
                return self._mismatch(expect, buf)
            self.sent.append(line)
            return end + 1
        decoder = DleDecoder(1 << 24)
        payload = decoder.feed(buf)
        if not decoder.done:
            return None
        used = len(buf) - len(decoder.rest)
        if isinstance(expect, _Frame):
            try:
                got = Frame.decode(payload)
            except Exception as exc:  # noqa: BLE001 - reported as a mismatch
                return self._mismatch(expect, buf, str(exc))
            if got.fcf.name != expect.fcf:
                return self._mismatch(expect, buf)
            self.frames.append(got)
            self.sent.append(f"<{got.fcf.name}>")
        else:
            self.blocks.append(payload)
            self.sent.append(f"<data {len(payload)}>")
        return used

    def _mismatch(self, expect, buf: bytes, why: str = ""):
        self.errors.append(f"expected {expect!r}, the DTE sent {buf[:40]!r} {why}".strip())
        return None
