"""drivers.softmodem.dce — the software DCE: buffers to the DTE, the V.250 command state, calls.

A :class:`SoftModem` is one modem with a number on an :class:`~drivers.softmodem.line.Exchange`.
The DTE side is two byte streams (:meth:`SoftModem.write` from the DTE, :meth:`SoftModem.read` to
it), both bounded: a DTE that writes faster than the line carries is held back (the in-process
equivalent of flow control), a DTE that never reads stops the modem after :data:`OUT_STALL` seconds
of a full output buffer. One thread per modem interprets what arrives.

Command state (V.250 §5): ``AT`` lines ending in S3 (CR), S5 (backspace) edits, ``A/`` repeats,
echo (``E``, default on as on real modems), verbose / numeric results (``V``), quiet (``Q``),
``Z`` / ``&F`` reset, ``I`` identification, ``S`` registers (``S0`` = rings before auto-answer),
``D`` dial, ``A`` answer, ``H`` hang up; harmless settings (``L M X &C &D &K …``) are accepted.
The Class 1 commands (T.31 §8) live in :mod:`drivers.softmodem.fax1`; the Class 2 / 2.0
personalities (SP-2388, T.32), which run faxpipe's T.30 engine inside the modem, in
:mod:`drivers.softmodem.fax2`. ``classes`` says which of "1", "2", "2.0" the modem offers
(``+FCLASS=?``); a single one is also the class it starts in.
"""

from __future__ import annotations

import logging
import threading
import time

from .atparse import ATSyntaxError, Command, parse_line
from .fax1 import Class1
from .fax2 import QUIRKS, Class2
from .line import CED_SECONDS, Exchange, Faults

IN_MAX = 4096          # octets from the DTE not yet taken by the modem (a UART FIFO + a little)
OUT_MAX = 1 << 16      # octets to the DTE not yet read by it
OUT_STALL = 10.0       # seconds a full output buffer is tolerated before output is dropped
NUMERIC = {"OK": "0", "CONNECT": "1", "RING": "2", "NO CARRIER": "3", "ERROR": "4", "NO DIALTONE": "6",
           "BUSY": "7", "NO ANSWER": "8", "+FCERROR": "+F4"}
IDENT = {0: "faxpipe softmodem", 1: "000", 2: "OK", 3: "faxpipe softmodem Class 1 (T.31) 0.1",
         4: "faxpipe", 5: "0.1", 6: "faxpipe softmodem", 7: "faxpipe softmodem", 8: "", 9: ""}
S_DEFAULTS = {0: 0, 1: 0, 2: 43, 3: 13, 4: 10, 5: 8, 6: 2, 7: 50, 8: 2, 10: 14, 12: 50}
LOG = logging.getLogger("drivers.softmodem")
_ANSWER = object()     # _next_line: auto-answer is due
DONE = "DONE"          # a command handler produced its own result code


class Closed(Exception):
    """The modem was closed while its thread waited."""


class SoftModem(Class1, Class2):
    """A software fax modem (Class 1, 2, 2.0) with number ``number`` on ``exchange``."""

    EXTENDED = {**Class1.EXTENDED, **Class2.EXTENDED}

    def __init__(self, number: str, exchange: Exchange | None = None, *, faults: Faults | None = None,
                 classes=("1", "2", "2.0"), quirks=()):
        classes = tuple(str(c).strip() for c in classes)
        if not classes or set(classes) - {"1", "2", "2.0"}:
            raise ValueError(f"classes must be among 1, 2, 2.0, not {classes!r}")
        if set(quirks) - QUIRKS:
            raise ValueError(f"unknown quirk(s) {sorted(set(quirks) - QUIRKS)} (known: {', '.join(sorted(QUIRKS))})")
        self.classes = classes
        self.c2_quirks = frozenset(quirks)
        self.default_fclass = {"1": 1, "2": 2, "2.0": 20}[classes[0]] if len(classes) == 1 else 0
        self.exchange = exchange if exchange is not None else Exchange.named("default")
        self.cond = self.exchange.cond
        self.number = number
        self.faults = faults if faults is not None else self.exchange.faults
        self.call = None           # the call this modem is in (ringing out, or up)
        self.incoming = None       # a call ringing this modem
        self._in = bytearray()
        self._out = bytearray()
        self._closed = False
        self._last_line = "AT"
        self._rings = 0
        self._reset()
        self.exchange.register(number, self)
        self._thread = threading.Thread(target=self._run, name=f"softmodem-{number}", daemon=True)
        self._thread.start()

    def _reset(self) -> None:
        self.echo, self.verbose, self.quiet = True, True, False
        self.fclass = self.default_fclass
        self.far, self.fdd, self.flo = 0, 0, 1
        self.s = dict(S_DEFAULTS)
        self._class1_reset()
        self._class2_reset()

    def __repr__(self) -> str:
        return f"SoftModem({self.number!r}, exchange={self.exchange.name!r})"

    # -- DTE side --------------------------------------------------------------------------------------
    def write(self, data: bytes, timeout: float | None = None) -> int:
        """Bytes from the DTE; blocks while the input buffer is full. Returns the count taken."""
        data = bytes(data)
        sent = 0
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            while sent < len(data):
                if self._closed:
                    raise OSError("software modem closed")
                room = IN_MAX - len(self._in)
                if room > 0:
                    self._in += data[sent:sent + room]
                    sent += min(room, len(data) - sent)
                    self.cond.notify_all()
                    continue
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self.cond.wait(0.5 if left is None else min(left, 0.5))
        return sent

    def read(self, size: int, timeout: float | None = None) -> bytes:
        """Up to ``size`` bytes for the DTE, waiting at most ``timeout`` seconds for the first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            while not self._out and not self._closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return b""
                self.cond.wait(0.5 if left is None else min(left, 0.5))
            data = bytes(self._out[:size])
            del self._out[:size]
            self.cond.notify_all()
            return data

    @property
    def out_waiting(self) -> int:
        return len(self._out)

    @property
    def in_pending(self) -> int:
        return len(self._in)

    def discard_output(self) -> None:
        with self.cond:
            self._out.clear()
            self.cond.notify_all()

    def dtr_dropped(self) -> None:
        """DTR went off (V.250 &D2): hang up and return to command state."""
        with self.cond:
            if self.call is not None:
                self.exchange.end(self.call, "DTR dropped")

    def close(self) -> None:
        """Hang up, leave the exchange, stop the thread."""
        with self.cond:
            if self._closed:
                return
            self._closed = True
            for call in (self.call, self.incoming):
                if call is not None:
                    self.exchange.end(call, f"modem {self.number} closed")
            self.cond.notify_all()
        self.exchange.unregister(self)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=2)

    @property
    def in_call(self) -> bool:
        return self.call is not None and self.call.up

    @property
    def ringing(self) -> bool:
        return self.incoming is not None

    # -- waiting (always in the modem's own thread) -------------------------------------------------
    def _wait(self, pred, deadline: float | None = None) -> bool:
        """Wait until ``pred()`` (checked under the lock) or the deadline; False on the deadline."""
        with self.cond:
            while True:
                if self._closed:
                    raise Closed()
                if pred():
                    return True
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self.cond.wait(0.5 if left is None else min(left, 0.5))

    def _sleep_until(self, t: float) -> None:
        self._wait(lambda: False, t)

    def _take(self, deadline: float | None, limit: int = IN_MAX) -> bytes | None:
        """Up to ``limit`` bytes from the DTE, or None at the deadline."""
        if not self._wait(lambda: bool(self._in), deadline):
            return None
        with self.cond:
            data = bytes(self._in[:limit])
            del self._in[:limit]
            self.cond.notify_all()
            return data

    def _unread(self, data: bytes) -> None:
        if data:
            with self.cond:
                self._in[:0] = data

    def _dte_spoke(self) -> bool:
        """True (and the input discarded) if the DTE sent anything: the T.31 §8.3 abort."""
        with self.cond:
            if not self._in:
                return False
            self._in.clear()
            self.cond.notify_all()
            return True

    # -- output --------------------------------------------------------------------------------------
    def _emit(self, data: bytes) -> None:
        if not data:
            return
        with self.cond:
            deadline = time.monotonic() + OUT_STALL
            while len(self._out) + len(data) > OUT_MAX and not self._closed:
                if time.monotonic() > deadline:
                    LOG.warning("%s: DTE not reading, %d bytes dropped", self.number, len(data))
                    return
                self.cond.wait(0.2)
            self._out += data
            self.cond.notify_all()

    def _result(self, name: str) -> None:
        LOG.debug("%s -> %s", self.number, name)
        if self.quiet:
            return
        self._emit(f"\r\n{name}\r\n".encode() if self.verbose else f"{NUMERIC[name]}\r".encode())

    def _info(self, text: str) -> None:
        if not self.quiet:
            self._emit(f"\r\n{text}\r\n".encode() if self.verbose else f"{text}\r\n".encode())

    # -- the command state ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                line = self._next_line()
                if line is _ANSWER:
                    self._answer()
                elif line is not None:
                    LOG.debug("%s <- %s", self.number, line)
                    self._execute(line)
            except Closed:
                return
            except Exception:  # a bug must not leave a silent modem behind: say so, hang up, go on
                LOG.exception("software modem %s failed", self.number)
                self._hangup()
                self._result("ERROR")

    def _ring_due(self) -> float | None:
        """Emit RING when due and say when the next check is; ``_ANSWER`` via self._rings vs S0."""
        call = self.incoming
        if call is None:
            self._rings = 0
            return None
        if call.state != "ringing":
            self.incoming = None
            self._rings = 0
            return None
        now = time.monotonic()
        interval = self.exchange.scaled(self.exchange.ring_interval)
        due = call.ring_start + self._rings * interval
        if now >= due:
            self._rings += 1
            self._result("RING")
            due += interval
        return max(0.0, due - now)

    def _next_line(self):
        """The next command line from the DTE (echoed if E1), or ``_ANSWER`` when S0 rings are reached."""
        buf = bytearray()
        overflow = False
        while True:
            with self.cond:
                if self._closed:
                    raise Closed()
                wait = self._ring_due()
                if self.incoming is not None and self.s[0] and self._rings >= self.s[0]:
                    return _ANSWER
                if not self._in:
                    self.cond.wait(0.5 if wait is None else min(wait + 0.001, 0.5))
                    continue
                data = bytes(self._in)
                self._in.clear()
                self.cond.notify_all()
            for k, b in enumerate(data):
                if self.echo:
                    self._emit(bytes((b,)))
                if b == self.s[3]:
                    self._unread(data[k + 1:])
                    if overflow:
                        self._result("ERROR")
                        return None
                    return self._find_at(bytes(buf))
                if b == self.s[5]:
                    if buf:
                        buf.pop()
                elif b == self.s[4] or b == 0:
                    pass
                elif b == ord("/") and buf[-1:].upper() == b"A":
                    self._unread(data[k + 1:])
                    return self._last_line
                elif len(buf) < 255:
                    buf.append(b)
                else:
                    overflow = True

    def _find_at(self, raw: bytes) -> str | None:
        """The command line from its ``AT`` prefix on (V.250 §5.2.1), None if there is none."""
        text = raw.decode("latin-1")
        upper = text.upper()
        i = upper.find("AT")
        if i < 0:
            return None
        line = text[i:]
        self._last_line = line
        return line

    def _execute(self, line: str) -> None:
        try:
            commands = parse_line(line)
        except ATSyntaxError as exc:
            LOG.debug("%s syntax error: %s", self.number, exc)
            self._result("ERROR")
            return
        for command in commands:
            try:
                outcome = self._dispatch(command)
            except (ATSyntaxError, ValueError, KeyError) as exc:
                LOG.debug("%s %s: %s", self.number, command.name, exc)
                outcome = "ERROR"
            if outcome == "ERROR":
                self._result("ERROR")
                return
            if outcome == DONE:
                return
        self._result("OK")

    def _dispatch(self, cmd: Command):
        if cmd.kind == "dial":
            return self._dial(cmd.value)
        if cmd.kind == "s":
            return self._s_register(cmd)
        if cmd.kind == "extended":
            handler = self.EXTENDED.get(cmd.name)
            return "ERROR" if handler is None else handler(self, cmd)
        name, n = cmd.name, cmd.number
        if name == "E":
            return self._flag("echo", n)
        if name == "V":
            return self._flag("verbose", n)
        if name == "Q":
            return self._flag("quiet", n)
        if name in ("Z", "&F"):
            if name == "Z":
                self._hangup()
            self._reset()
            return None
        if name == "I":
            if n not in IDENT:
                return "ERROR"
            if IDENT[n]:
                self._info(IDENT[n])
            return None
        if name == "H":
            if n not in (0, 1):
                return "ERROR"
            self._hangup()
            return None
        if name == "A":
            self._answer()
            return DONE
        if name == "O":
            self._result("NO CARRIER")
            return DONE
        if name in ("L", "M", "X", "B", "N", "P", "T", "W", "&C", "&D", "&K", "&S", "&W", "&V", "&Q",
                    "\\N", "\\Q", "\\V"):
            return None
        return "ERROR"

    def _flag(self, attr: str, n: int):
        if n not in (0, 1):
            return "ERROR"
        setattr(self, attr, bool(n))
        return None

    def _s_register(self, cmd: Command):
        reg = int(cmd.name[1:])
        if reg > 255:
            return "ERROR"
        if cmd.op == "?":
            self._info(f"{self.s.get(reg, 0):03d}")
        elif cmd.op == "=":
            value = cmd.number
            if value > 255:
                return "ERROR"
            self.s[reg] = value
        return None

    # -- call control ----------------------------------------------------------------------------------
    def _hangup(self) -> None:
        with self.cond:
            for call in (self.call, self.incoming):
                if call is not None:
                    self.exchange.end(call, f"{self.number} hung up")
            self._class1_reset()
            self._class2_hangup()

    def _dial(self, dial_string: str):
        """ATD (V.250 §6.3.1): ring the number; in +FCLASS=1 the answer implies +FRH=3 (T.31 §8.2)."""
        if dial_string.endswith(";"):
            return "ERROR"  # voice call: no
        if self.call is not None:
            return "ERROR"
        result = self.exchange.dial(self, dial_string)
        LOG.debug("%s dials %s: %s", self.number, dial_string, result if isinstance(result, str) else "ringing")
        if isinstance(result, str):
            self._sleep_until(time.monotonic() + self.exchange.scaled(1.0 if result == "BUSY" else 0.2))
            self._result(result)
            return DONE
        call = result
        ex = self.exchange
        give_up = call.ring_start + ex.max_rings * ex.scaled(ex.ring_interval)
        while True:
            self._wait(lambda: call.state != "ringing" or bool(self._in), give_up)
            if call.state == "up":
                break
            if call.state == "ringing" and self._dte_spoke():
                ex.end(call, "caller aborted the dial")
                self._result("NO CARRIER")
                return DONE
            if call.state == "ringing" and time.monotonic() >= give_up:
                ex.end(call, "no answer", state="no answer")
                self._result("NO ANSWER")
                return DONE
            if call.state in ("ended", "no answer"):
                self._result("NO CARRIER")
                return DONE
        if self.fclass in (2, 20):
            self._c2_dial(call)
            return DONE
        if self.fclass != 1:
            ex.end(call, "no data modem in +FCLASS=0")
            self._result("NO CARRIER")
            return DONE
        self._frh(3)
        return DONE

    def _answer(self) -> None:
        """ATA (V.250 §6.3.5), or S0 rings: CED, then in +FCLASS=1 an implied +FTH=3 (T.31 §8.2)."""
        call = self.incoming
        if call is None or call.state != "ringing":
            self._result("NO CARRIER")
            return
        self.exchange.answer(call)
        self._rings = 0
        if self.faults.cut_at == ("answer",):
            self.exchange.end(call, "cut after answer (fault)")
        if self.fclass not in (1, 2, 20):
            self.exchange.end(call, "no data modem in +FCLASS=0")
            self._result("NO CARRIER")
            return
        self._sleep_until(time.monotonic() + self.exchange.scaled(CED_SECONDS))  # CED (T.30 §4.3.1.1)
        if self.fclass in (2, 20):
            self._c2_answer(call)
            return
        self._fth(3)

