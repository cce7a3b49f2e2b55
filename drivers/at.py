"""drivers.at — the AT command channel to a fax modem over any pyserial port.

Purpose
    Speak V.250 / T.31 to a DCE through a ``serial.Serial`` or a ``serial_for_url`` object (a real
    ``/dev/ttyUSB0``, a pty, or the software modem's ``softmodem://`` URL): send a command line, read
    response lines until a final result code, frame Class 1 data with DLE, switch flow control, and
    keep a timestamped transcript of the whole dialogue (like pyserial's ``spy://``).

Result codes (V.250 §5.7.1 Table 1; T.31 §8.5.1 for +FCERROR)
    final:        OK  CONNECT [text]  NO CARRIER  ERROR  BUSY  NO ANSWER  NO DIALTONE  +FCERROR
    unsolicited:  RING (counted, skipped unless waited for)
    numeric (ATV0) forms are understood too: 0 1 2 3 4 6 7 8 and +F4.

Every wait has a deadline: a modem that stays silent or talks garbage gives a :class:`ModemError`
with a reason a person can act on; no buffer grows beyond its bound (``MAX_LINE`` per response
line, ``MAX_INFO_LINES`` per response, a caller-given limit per DLE block).

DLE framing (T.31 §8.5.2, §8.5.3; V.250 data state)
    to the DCE:   data octet 0x10 is sent as DLE DLE, a block ends with DLE ETX;
    from the DCE: DLE DLE and DLE SUB (``+FDD=1``) are one and two data DLEs, DLE ETX ends the
                  block, any other DLE pair is dropped (counted).

Transcript lines
    ``  12.345 TX AT+FTH=3``, ``  12.678 RX CONNECT``, ``  12.900 TX data 42 bytes: ff 03 ...``,
    ``  13.001 -- note``. Files are written as the session runs; :meth:`Transcript.close` with
    ``keep="failed"`` removes the file of a session that succeeded, never of one that failed.
    Data lines show the first 16 octets in hex and `` ...`` when there are more; with
    ``Transcript(full_data=True)`` they carry every octet (no `` ...``), so the session can be
    replayed byte for byte (:mod:`drivers.replay`). Readers tell the two apart by counting.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from faxpipe.errors import ModemError

DLE, ETX, SUB = 0x10, 0x03, 0x1A
DLE_ETX = bytes((DLE, ETX))
XON, XOFF = 0x11, 0x13

FINAL_CODES = ("OK", "CONNECT", "NO CARRIER", "ERROR", "BUSY", "NO ANSWER", "NO DIALTONE", "+FCERROR")
NUMERIC_CODES = {"0": "OK", "1": "CONNECT", "2": "RING", "3": "NO CARRIER", "4": "ERROR",
                 "6": "NO DIALTONE", "7": "BUSY", "8": "NO ANSWER", "+F4": "+FCERROR"}
MAX_LINE = 512          # characters in one response line; a modem never needs more
MAX_INFO_LINES = 64     # information lines before a final result code
DEFAULT_TIMEOUT = 5.0   # seconds for an ordinary command


def result_name(line: str, *, numeric: bool = False) -> str | None:
    """The final or unsolicited result code a response line is, or None for an information line.

    ``CONNECT 9600`` is CONNECT (V.250 §5.7.1 connect text). Numeric codes (ATV0) are mapped only
    with ``numeric=True``: in verbose mode "3" or "0" are information (``+FTH=?``, ``+FCLASS?``)."""
    text = line.strip()
    if numeric and text in NUMERIC_CODES:
        return NUMERIC_CODES[text]
    if text == "RING":
        return "RING"
    for code in FINAL_CODES:
        if text == code or (code == "CONNECT" and text.startswith("CONNECT ")):
            return code
    return None


# --- DLE framing ------------------------------------------------------------------------------------

def dle_stuff(data: bytes, *, sub: bool = False) -> bytes:
    """Data → DLE-transparent form: every DLE doubled (T.31 §8.5.2); with ``sub`` a pair of data
    DLEs becomes DLE SUB (T.31 §8.5.3, ``+FDD=1``). The closing DLE ETX is not added."""
    data = bytes(data)
    if not sub:
        return data.replace(b"\x10", b"\x10\x10")
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        if data[i] == DLE and i + 1 < n and data[i + 1] == DLE:
            out += b"\x10\x1a"
            i += 2
        elif data[i] == DLE:
            out += b"\x10\x10"
            i += 1
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


class DleDecoder:
    """Incremental DLE unstuffing of one block ending in DLE ETX (T.31 §8.5.2-8.5.3).

    :meth:`feed` takes any chunk (a DLE may be split from its partner) and returns the data
    octets found; once DLE ETX is seen, :attr:`done` is true and :attr:`rest` holds the bytes that
    followed it. More than ``limit`` data octets raise :class:`ModemError`."""

    def __init__(self, limit: int = 1 << 20):
        self.limit = limit
        self.count = 0
        self.done = False
        self.rest = b""
        self.other_pairs = 0  # DLE followed by anything but DLE / SUB / ETX: dropped
        self._pending_dle = False

    def feed(self, chunk: bytes) -> bytes:
        if self.done:
            raise ValueError("DLE block already ended")
        out = bytearray()
        chunk = bytes(chunk)
        i = 0
        if self._pending_dle and chunk:
            self._pending_dle = False
            i = self._pair(chunk[0], out)
            if self.done:
                self.rest = chunk[1:]
                return self._count(out)
        n = len(chunk)
        while i < n:
            j = chunk.find(b"\x10", i)
            if j < 0:
                out += chunk[i:]
                break
            out += chunk[i:j]
            if j + 1 >= n:
                self._pending_dle = True
                break
            self._pair(chunk[j + 1], out)
            i = j + 2
            if self.done:
                self.rest = chunk[i:]
                break
        return self._count(out)

    def _pair(self, second: int, out: bytearray) -> int:
        if second == DLE:
            out.append(DLE)
        elif second == SUB:
            out += b"\x10\x10"
        elif second == ETX:
            self.done = True
        else:
            self.other_pairs += 1
        return 1

    def _count(self, out: bytearray) -> bytes:
        self.count += len(out)
        if self.count > self.limit:
            raise ModemError(f"DLE block longer than {self.limit} bytes without DLE ETX: the modem is not "
                             "ending its data (wrong modulation, or not a Class 1 modem)")
        return bytes(out)


# --- transcript ----------------------------------------------------------------------------------------

def _printable(data: bytes) -> str:
    out = []
    for b in data:
        if 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append({0x0D: "<CR>", 0x0A: "<LF>"}.get(b, f"<{b:02x}>"))
    return "".join(out)


class Transcript:
    """A timestamped record of one modem session (TX / RX lines, data summarised), written as it goes.

    ``full_data=True`` writes every data octet instead of the first :attr:`HEAD` (for replay).

    ``keep="always"`` (default) keeps every file; ``keep="failed"`` deletes the file of a session
    closed with ``failed=False``. ``path=None`` keeps the lines in memory only (:attr:`lines`)."""

    HEAD = 16  # bytes of binary data shown in hex

    def __init__(self, path: str | os.PathLike | None = None, *, keep: str = "always", memory_lines: int = 2000,
                 full_data: bool = False):
        if keep not in ("always", "failed"):
            raise ValueError(f"keep must be 'always' or 'failed', not {keep!r}")
        self.path = os.fspath(path) if path is not None else None
        self.keep = keep
        self.full_data = full_data   # every data octet in hex (replayable), not just the head
        self.lines: list[str] = []
        self._memory_lines = memory_lines
        self._t0 = time.monotonic()
        self._file = open(self.path, "w", encoding="utf-8", buffering=1) if self.path else None
        self.closed = False
        self._write(f"-- transcript started {time.strftime('%Y-%m-%d %H:%M:%S')}")

    def _write(self, text: str) -> None:
        line = f"{time.monotonic() - self._t0:9.3f} {text}"
        if len(self.lines) >= self._memory_lines:
            del self.lines[: self._memory_lines // 2]
        self.lines.append(line)
        if self._file is not None and not self._file.closed:
            self._file.write(line + "\n")

    def tx(self, text: str) -> None:
        self._write(f"TX {text}")

    def rx(self, text: str) -> None:
        self._write(f"RX {text}")

    def data(self, direction: str, data: bytes, what: str = "data") -> None:
        shown = len(data) if self.full_data else self.HEAD
        head = bytes(data[:shown]).hex(" ")
        more = " ..." if len(data) > shown else ""
        self._write(f"{direction} {what} {len(data)} bytes: {head}{more}")

    def note(self, text: str) -> None:
        self._write(f"-- {text}")

    def close(self, *, failed: bool) -> None:
        """End the session; the file is kept if it failed or ``keep="always"``."""
        if self.closed:
            return
        self.closed = True
        self.note(f"session {'FAILED' if failed else 'ok'}")
        if self._file is not None:
            self._file.close()
            if not failed and self.keep == "failed":
                try:
                    os.unlink(self.path)
                except OSError:
                    pass


# --- the channel -------------------------------------------------------------------------------------

@dataclass
class Response:
    """What the modem answered to one command: information lines and the final result code."""

    command: str
    result: str                      # a name from FINAL_CODES (or RING when waited for)
    lines: list[str] = field(default_factory=list)
    text: str = ""                   # the result line as sent, e.g. "CONNECT 9600"

    @property
    def ok(self) -> bool:
        return self.result == "OK"

    @property
    def info(self) -> str:
        return "\n".join(self.lines)


class ATChannel:
    """Commands and data over one pyserial port (V.250 command state, T.31 data state).

    Verbose result codes (ATV1) are expected; set ``numeric=True`` for a modem left in ATV0.
    ``port`` must be open. ``transcript`` (a :class:`Transcript`, a path, or None for memory only)
    records the dialogue; :meth:`close` ends it, keeping the file when the session failed."""

    def __init__(self, port, *, transcript: Transcript | str | os.PathLike | None = None,
                 timeout: float = DEFAULT_TIMEOUT, numeric: bool = False):
        self.port = port
        self.numeric = numeric  # True after ATV0: result codes are digits
        self.timeout = timeout
        if not isinstance(transcript, Transcript):
            transcript = Transcript(transcript)
        self.transcript = transcript
        self.rings = 0
        self._buf = bytearray()
        self._after_cr = False
        self._last_command = ""

    # -- low level -------------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except Exception as exc:  # serial.SerialException, OSError, SerialTimeoutException
            self.transcript.note(f"write failed: {exc}")
            raise ModemError(f"cannot write to the modem port ({exc}): is the device still there, "
                             "and is flow control (XOFF / CTS) holding the port?") from exc

    def _fill(self, deadline: float) -> bool:
        """Read what the port has (waiting at most until ``deadline``); False when time is up."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            self.port.timeout = min(remaining, 0.2)
            waiting = self.port.in_waiting
            chunk = self.port.read(min(max(waiting, 1), 4096))
        except Exception as exc:
            self.transcript.note(f"read failed: {exc}")
            raise ModemError(f"cannot read from the modem port ({exc}): was the device unplugged "
                             "or the port closed?") from exc
        if chunk:
            self._buf += chunk
        return True

    def read_line(self, deadline: float) -> str | None:
        """The next non-empty response line, or None at the deadline. Garbage → :class:`ModemError`."""
        while True:
            self._skip_lf()
            for i, b in enumerate(self._buf):
                if b in (0x0D, 0x0A):
                    raw = bytes(self._buf[:i])
                    del self._buf[: i + 1]
                    self._after_cr = b == 0x0D
                    line = self._decode_line(raw)
                    if line:
                        self.transcript.rx(line)
                        return line
                    break
            else:
                if len(self._buf) > MAX_LINE:
                    raw = bytes(self._buf[:MAX_LINE])
                    self._buf.clear()
                    self.transcript.data("RX", raw, "garbage")
                    raise ModemError(f"the modem sent {MAX_LINE}+ bytes without a line end "
                                     f"({_printable(raw[:32])}…): wrong port speed, or not a modem in command mode")
                if not self._fill(deadline):
                    return None
                continue

    def _skip_lf(self) -> None:
        """Drop the LF of a CR LF whose CR ended the previous line (it may arrive later)."""
        if self._after_cr and self._buf:
            if self._buf[0] == 0x0A:
                del self._buf[0]
            self._after_cr = False

    def _decode_line(self, raw: bytes) -> str:
        clean = bytes(b for b in raw if b not in (0x00, XON, XOFF))
        bad = [b for b in clean if not (0x20 <= b < 0x7F or b == 0x09)]
        if bad:
            self.transcript.data("RX", raw, "garbage")
            raise ModemError(f"unreadable response from the modem {_printable(raw[:40])!r}: "
                             "check the port speed and that the device is a modem in command mode")
        return clean.decode("ascii").strip()

    # -- commands --------------------------------------------------------------------------------------
    def command(self, command: str, *, timeout: float | None = None, finals=FINAL_CODES) -> Response:
        """Send ``command`` (e.g. ``"AT+FCLASS=1"``) with CR; read lines until a final result code.

        An echo of the command is skipped; RING is counted and skipped unless "RING" is in ``finals``."""
        self._last_command = command
        self.transcript.tx(command)
        self.write(command.encode("ascii") + b"\r")
        return self.wait_result(timeout=timeout, finals=finals, command=command)

    def wait_result(self, *, timeout: float | None = None, finals=FINAL_CODES, command: str = "") -> Response:
        """Read response lines until one of ``finals`` (a result code name) arrives."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        echo_seen = not command
        while True:
            line = self.read_line(deadline)
            if line is None:
                got = f" (it said: {' | '.join(lines[-3:])})" if lines else " (it said nothing)"
                what = f"{command!r}" if command else "a result code"
                raise ModemError(f"no final result code to {what} within {timeout:g} s{got}: is a modem "
                                 "on this port, switched on, at this speed, and not stuck in data mode?")
            if not echo_seen and line.upper().replace(" ", "") == command.upper().replace(" ", ""):
                echo_seen = True
                continue
            name = result_name(line, numeric=self.numeric)
            if name == "RING" and "RING" not in finals:
                self.rings += 1
                continue
            if name is not None and name in finals:
                return Response(command=command, result=name, lines=lines, text=line)
            if len(lines) >= MAX_INFO_LINES:
                raise ModemError(f"more than {MAX_INFO_LINES} lines in answer to {command!r} and no final "
                                 f"result code: the modem is babbling (last: {line[:60]!r})")
            lines.append(line)

    def check(self, command: str, *, expect: str = "OK", timeout: float | None = None) -> Response:
        """:meth:`command`, raising :class:`ModemError` unless the result is ``expect``."""
        response = self.command(command, timeout=timeout)
        if response.result != expect:
            detail = f" ({response.info})" if response.lines else ""
            raise ModemError(f"the modem answered {response.text!r} to {command!r}{detail}, expected {expect}")
        return response

    def query(self, command: str, *, timeout: float | None = None) -> str:
        """A query such as ``AT+FTM=?``: its information text (lines joined by ','), OK required."""
        response = self.check(command, timeout=timeout)
        return ",".join(response.lines)

    # -- data state ------------------------------------------------------------------------------------
    def send_data(self, data: bytes, *, end: bool = True, what: str = "data") -> None:
        """Data to the DCE, DLE-doubled, followed by DLE ETX when ``end`` (T.31 §8.5.2)."""
        self.transcript.data("TX", data, what)
        self.write(dle_stuff(data) + (DLE_ETX if end else b""))

    def end_data(self) -> None:
        self.transcript.tx("<DLE><ETX>")
        self.write(DLE_ETX)

    def read_data(self, *, timeout: float | None = None, limit: int = 1 << 20, what: str = "data",
                  idle: float | None = None) -> bytes:
        """Data from the DCE up to DLE ETX (after CONNECT), unstuffed; bounded by ``limit``.

        The timeout covers the whole block; with ``idle`` the DCE may also fall silent for at most
        that many seconds between bytes (a page lasts minutes, a stall is a broken modem). A modem
        that never ends the block gives :class:`ModemError`."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        decoder = DleDecoder(limit)
        out = bytearray()
        try:
            while True:
                self._skip_lf()
                if self._buf:
                    last = time.monotonic()
                    chunk = bytes(self._buf)
                    self._buf.clear()
                    out += decoder.feed(chunk)
                    if decoder.done:
                        self._buf[:0] = decoder.rest
                        break
                until = deadline if idle is None else min(deadline, last + idle)
                if not self._fill(until):
                    why = (f"after {idle:g} s of silence" if idle is not None and until < deadline
                           else f"within {timeout:g} s")
                    raise ModemError(f"no DLE ETX {why} after {len(out)} data bytes: the modem "
                                     "stopped sending (carrier lost?) or this is not T.31 data")
        except ModemError:
            self.transcript.data("RX", bytes(out), f"{what} (incomplete)")
            raise
        self.transcript.data("RX", bytes(out), what)
        if decoder.other_pairs:
            self.transcript.note(f"{decoder.other_pairs} unknown DLE pairs dropped")
        return bytes(out)

    def read_data_or_result(self, *, timeout: float | None = None, limit: int = 1 << 20,
                            what: str = "data") -> "bytes | Response":
        """After ``+FRH``'s CONNECT: the frame (a DLE block, as :meth:`read_data`) or, when the DCE
        reports a result code instead of data, that :class:`Response` — a frame lost in noise shows
        as CONNECT then NO CARRIER (T.31 §8.3.6; HDLC frames start with address 0xFF, never text)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            self._skip_lf()
            while self._buf[:1] in (b"\r", b"\n"):
                del self._buf[0]
            if self._buf:
                if not 0x20 <= self._buf[0] < 0x7F:
                    break
                end = next((i for i, b in enumerate(self._buf) if b in (0x0D, 0x0A)), -1)
                if end >= 0:
                    name = result_name(self._buf[:end].decode("ascii", "replace"), numeric=self.numeric)
                    if name is not None and name != "RING":
                        line = self.read_line(deadline) or ""
                        return Response(command=self._last_command, result=name, text=line)
                    break
                if len(self._buf) >= MAX_LINE:
                    break
            if not self._fill(deadline):
                raise ModemError(f"neither data nor a result code within {timeout:g} s after CONNECT: "
                                 "the modem stopped talking")
        return self.read_data(timeout=max(0.0, deadline - time.monotonic()), limit=limit, what=what)

    def abort(self, *, timeout: float | None = None) -> Response:
        """Abort a pending +FRH/+FRM/+FRS by sending one character (T.31 §8.3); the DCE answers OK."""
        self.transcript.tx("<CAN> (abort)")
        self.write(b"\x18")
        return self.wait_result(timeout=timeout)

    # -- flow control and modem-control lines ----------------------------------------------------------
    def flow_control(self, mode: str) -> None:
        """Host side of flow control: ``"xonxoff"``, ``"rtscts"`` or ``"none"``.

        XON/XOFF must be off while binary page data flows (0x11 / 0x13 are data octets)."""
        if mode not in ("xonxoff", "rtscts", "none"):
            raise ValueError(f"flow control must be xonxoff, rtscts or none, not {mode!r}")
        try:
            self.port.xonxoff = mode == "xonxoff"
            self.port.rtscts = mode == "rtscts"
        except Exception as exc:
            raise ModemError(f"cannot set {mode} flow control on the port ({exc})") from exc
        self.transcript.note(f"flow control {mode}")

    def set_line(self, name: str, value: bool) -> bool:
        """Set DTR or RTS if the port has modem-control lines (a pty has none); True if it worked."""
        if name not in ("dtr", "rts"):
            raise ValueError(f"modem-control line must be dtr or rts, not {name!r}")
        try:
            setattr(self.port, name, value)
        except Exception as exc:  # OSError(ENOTTY) on a pty
            self.transcript.note(f"{name.upper()} not settable ({exc}); carrying on")
            return False
        self.transcript.note(f"{name.upper()}={int(value)}")
        return True

    def line(self, name: str) -> bool | None:
        """CTS / DSR / CD / RI if readable, else None."""
        try:
            return bool(getattr(self.port, name))
        except Exception:
            return None

    def drain(self, seconds: float = 0.05) -> bytes:
        """Discard what the modem sends during ``seconds`` (stale results before a fresh start)."""
        deadline = time.monotonic() + seconds
        while self._fill(deadline):
            pass
        data = bytes(self._buf)
        self._buf.clear()
        if data:
            self.transcript.data("RX", data, "discarded")
        return data

    def close(self, *, failed: bool = False) -> None:
        """End the transcript (kept if the session failed). The port stays open: it is the caller's."""
        self.transcript.close(failed=failed)

    def __enter__(self) -> "ATChannel":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        """Leaving a ``with`` block by an exception marks the session failed (its transcript stays)."""
        if exc is not None:
            self.transcript.note(f"{kind.__name__}: {exc}")
        self.close(failed=exc is not None)


def open_port(device: str, *, baudrate: int = 19200, timeout: float = 0.2, **kwargs):
    """Open a device path or a pyserial URL (``softmodem://`` included) as a pyserial port."""
    import serial

    if device.lower().startswith("softmodem://"):
        from drivers import softmodem  # noqa: F401  registers the URL handler package

        softmodem.register()
    return serial.serial_for_url(device, baudrate=baudrate, timeout=timeout, **kwargs)
