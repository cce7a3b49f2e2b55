"""drivers.replay — a recorded modem session served back as a fake modem, so that a problem seen
with a real modem becomes a regression test.

Purpose
    :func:`parse_transcript` reads a session log of :mod:`drivers.at` (``  12.345 TX AT+FTH=3``,
    ``RX CONNECT``, ``TX DCS frame data 12 bytes: ff 13 …``, ``-- note``) into :class:`Event` s.
    :class:`Replayer` plays the DCE side of it: it waits for each ``TX`` (what the DTE sent) and
    checks that the DTE sends the same command, the same data octets, the same control character;
    it answers with the recorded ``RX`` lines and data blocks, in order. The first difference is
    reported as a :class:`Divergence` (transcript line, expected, got); from then on every command
    gets ``ERROR`` so the DTE under test fails quickly instead of hanging. :class:`PtyReplay` serves
    a replayer on a pseudo-terminal (``faxpipe modem replay``); open its :attr:`~PtyReplay.path`
    like a serial port.

Data blocks
    A transcript written with ``Transcript(full_data=True)`` has every octet and replays exactly.
    An ordinary transcript has the first 16 octets and the count: DTE data is then checked by
    count and head, and DCE data is served as the head padded with zeros (``replayable`` is False
    and :attr:`Replayer.approximate` counts the blocks) — enough for command-level regressions.
    DCE data blocks end with DLE ETX (``… (incomplete)`` ones do not); ``garbage`` and
    ``discarded`` blocks are sent raw. A DTE data block must end with DLE ETX, or DLE , / DLE ; /
    DLE . (Class 2.0 page ends), unless the transcript records the end itself (``TX <DLE><ETX>``).

Tolerated
    A stray CAN (0x18) or CR / LF / XON / XOFF before a command (drivers.class1 aborts any pending
    receive with an unrecorded CAN before ATH0); the spacing of commands (replies go out as fast as
    possible, or at the recorded pace times ``speed``).
"""

from __future__ import annotations

import os
import re
import select
import threading
import time
import tty
from dataclasses import dataclass, field

from drivers.at import DLE, ETX, SUB, dle_stuff

LINE = re.compile(r"^\s*(-?\d+(?:\.\d+)?) (TX|RX|--)(?: (.*))?$")
DATA = re.compile(r"^(?P<what>.*?) ?(?P<count>\d+) bytes: ?(?P<hex>(?:[0-9a-f]{2}(?: [0-9a-f]{2})*)?)(?P<more> \.\.\.)?$")
CONTROL = {"<DLE><ETX>": bytes((DLE, ETX)), "<CAN> (abort)": b"\x18", "<CAN>": b"\x18", "<XON>": b"\x11",
           "<DC1>": b"\x11", "<DC2>": b"\x12", "<XOFF>": b"\x13"}
PAGE_ENDS = (ETX, ord(","), ord(";"), ord("."))
IDLE = 10.0           # seconds the replayer waits for the DTE's next bytes before reporting
IGNORED = b"\r\n\x00\x11\x13\x18"


@dataclass(frozen=True)
class Event:
    """One transcript line: ``direction`` TX (DTE → DCE), RX (DCE → DTE) or -- (a note)."""

    lineno: int
    time: float
    direction: str
    text: str
    kind: str = "line"           # line, data, control, note
    data: bytes = b""            # data: the octets known (all, or the head); control: the bytes
    count: int = 0               # data: the octet count
    what: str = ""               # data: "frame", "page 1", "garbage", "discarded" …
    full: bool = True            # data: every octet is known

    def describe(self) -> str:
        if self.kind == "data":
            head = self.data[:16].hex(" ")
            return f"{self.what or 'data'} {self.count} bytes ({head}{' ...' if self.count > 16 else ''})"
        return self.text


class TranscriptError(ValueError):
    """A transcript line that is not in the drivers.at format."""


def parse_transcript(text: str) -> list[Event]:
    """The events of a transcript (lines that do not look like transcript lines raise
    :class:`TranscriptError` naming the line; blank lines are skipped)."""
    events = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        m = LINE.match(raw)
        if not m:
            raise TranscriptError(f"line {lineno}: not a transcript line: {raw[:80]!r}")
        t, direction, body = float(m.group(1)), m.group(2), m.group(3) or ""
        if direction == "--":
            events.append(Event(lineno, t, "--", body, kind="note"))
            continue
        if body in CONTROL:
            events.append(Event(lineno, t, direction, body, kind="control", data=CONTROL[body]))
            continue
        d = DATA.match(body) if " bytes:" in body else None
        if d:
            known = bytes.fromhex(d.group("hex")) if d.group("hex") else b""
            count = int(d.group("count"))
            full = len(known) == count and not d.group("more")
            events.append(Event(lineno, t, direction, body, kind="data", data=known, count=count,
                                what=d.group("what"), full=full))
            continue
        events.append(Event(lineno, t, direction, body))
    return events


def load_transcript(path) -> list[Event]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_transcript(f.read())


def replayable(events) -> bool:
    """True when every data block the DCE sends is recorded in full."""
    return all(e.full for e in events if e.kind == "data" and e.direction == "RX")


@dataclass
class Divergence:
    """The first place where the DTE did not do what the recording says."""

    lineno: int
    expected: str
    got: str
    reason: str = ""

    def __str__(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return f"transcript line {self.lineno}: expected {self.expected!r}, the DTE sent {self.got!r}{why}"


class _Diverged(Exception):
    def __init__(self, divergence: Divergence):
        super().__init__(str(divergence))
        self.divergence = divergence


@dataclass
class ReplayResult:
    """How a replay went: ``complete`` when every recorded event was played and matched."""

    events: int
    played: int = 0
    divergence: Divergence | None = None
    approximate: int = 0
    complete: bool = False
    extra: bytes = b""                 # what the DTE sent after the end of the recording
    log: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.complete and self.divergence is None

    def summary(self) -> str:
        if self.divergence is not None:
            return f"DIVERGED after {self.played} of {self.events} events: {self.divergence}"
        if self.complete:
            more = f"; {self.approximate} data block(s) approximated" if self.approximate else ""
            return f"replayed all {self.events} events; the DTE matched the recording{more}"
        return f"stopped after {self.played} of {self.events} events"


class Replayer:
    """The DCE side of a recorded session over two byte functions.

    ``read(timeout)`` returns the bytes the DTE has sent (b"" when none came in ``timeout``
    seconds; None when the DTE side is gone), ``write(data)`` sends to the DTE. ``speed``: 0 answers
    at once; 1.0 keeps the recorded pauses before each answer (capped at ``max_pause`` s)."""

    def __init__(self, events, read, write, *, idle: float = IDLE, speed: float = 0.0, max_pause: float = 2.0):
        self.events = [e for e in events if e.kind != "note"]
        self.read, self.write = read, write
        self.idle = idle
        self.speed = speed
        self.max_pause = max_pause
        self.result = ReplayResult(events=len(self.events))
        self._buf = bytearray()
        self.stop = threading.Event()

    # -- input from the DTE ---------------------------------------------------------------------------
    def _more(self, deadline: float) -> bool:
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            chunk = self.read(min(left, 0.2))
            if chunk is None:
                raise EOFError("the DTE side closed")
            if chunk:
                self._buf += chunk
                return True
        raise EOFError("stopped")

    def _byte(self, deadline: float, expected: Event) -> int:
        while not self._buf:
            if not self._more(deadline):
                raise _Diverged(Divergence(expected.lineno, expected.describe(), "nothing",
                                           f"the DTE was silent for {self.idle:g} s"))
        b = self._buf[0]
        del self._buf[0]
        return b

    def _command(self, event: Event) -> None:
        deadline = time.monotonic() + self.idle
        while True:   # skip what a DTE may send between commands
            while self._buf[:1] and self._buf[0] in IGNORED:
                del self._buf[0]
            if self._buf[:2] == bytes((DLE, ETX)):
                del self._buf[:2]
                continue
            if self._buf:
                break
            if not self._more(deadline):
                raise _Diverged(Divergence(event.lineno, event.text, "nothing",
                                           f"the DTE was silent for {self.idle:g} s"))
        while b"\r" not in self._buf:
            if len(self._buf) > 512 or not self._more(deadline):
                got = bytes(self._buf[:60])
                raise _Diverged(Divergence(event.lineno, event.text, got.decode("latin-1"),
                                           "no command line (CR) from the DTE"))
        end = self._buf.index(b"\r")
        line = bytes(self._buf[:end]).decode("latin-1")
        del self._buf[:end + 1]
        if line.strip() != event.text.strip():
            raise _Diverged(Divergence(event.lineno, event.text, line.strip(), "a different command"))

    def _data(self, event: Event, explicit_end: bool) -> None:
        deadline = time.monotonic() + self.idle
        got = bytearray()
        while len(got) < event.count:
            b = self._byte(deadline, event)
            if b == DLE:
                second = self._byte(deadline, event)
                if second == DLE:
                    got.append(DLE)
                elif second == SUB:
                    got += b"\x10\x10"
                elif second in PAGE_ENDS:
                    raise _Diverged(Divergence(event.lineno, event.describe(), f"{len(got)} bytes then DLE "
                                               f"{second:02x}", "the DTE's data block is shorter"))
            else:
                got.append(b)
            deadline = time.monotonic() + self.idle
        known = event.data
        if bytes(got[:len(known)]) != known:
            at = next(i for i, (a, b) in enumerate(zip(got, known)) if a != b)
            raise _Diverged(Divergence(event.lineno, event.describe(),
                                       f"{len(got)} bytes, octet {at} = {got[at]:02x} not {known[at]:02x} "
                                       f"({bytes(got[max(0, at - 4):at + 8]).hex(' ')})", "different data"))
        if explicit_end:
            return
        first = self._byte(deadline, event)
        second = self._byte(deadline, event) if first == DLE else -1
        if first != DLE or second not in PAGE_ENDS:
            raise _Diverged(Divergence(event.lineno, event.describe() + " then DLE ETX",
                                       f"more data ({first:02x} {max(second, 0):02x} …)",
                                       "the DTE's data block is longer"))

    def _control(self, event: Event) -> None:
        deadline = time.monotonic() + self.idle
        want = event.data
        if want == b"\x18":   # an abort: whatever else was pending (a CR) may come first
            while self._buf[:1] in (b"\r", b"\n"):
                del self._buf[0]
        for expected in want:
            b = self._byte(deadline, event)
            if b != expected:
                raise _Diverged(Divergence(event.lineno, event.text, f"{b:02x}", "a different control character"))

    # -- output to the DTE ----------------------------------------------------------------------------
    def _answer(self, event: Event, previous: Event | None) -> None:
        if self.speed > 0 and previous is not None:
            pause = min(self.max_pause, max(0.0, (event.time - previous.time) * self.speed))
            if pause:
                time.sleep(pause)
        if event.kind == "line":
            self.write(event.text.encode("latin-1") + b"\r\n")
        elif event.kind == "control":
            self.write(event.data)
        else:
            data = event.data if event.full else event.data + bytes(event.count - len(event.data))
            if not event.full:
                self.result.approximate += 1
            if event.what.startswith(("garbage", "discarded")):
                self.write(data)
            else:
                end = b"" if event.what.endswith("(incomplete)") else bytes((DLE, ETX))
                self.write(dle_stuff(data) + end)

    # -- the session ----------------------------------------------------------------------------------
    def run(self) -> ReplayResult:
        events, result = self.events, self.result
        previous = None
        try:
            for index, event in enumerate(events):
                if event.direction == "RX":
                    self._answer(event, previous)
                elif event.kind == "line":
                    self._command(event)
                elif event.kind == "data":
                    following = events[index + 1] if index + 1 < len(events) else None
                    explicit = following is not None and following.direction == "TX" and (
                        following.kind == "data" or following.text == "<DLE><ETX>")
                    self._data(event, explicit)
                else:
                    self._control(event)
                result.played = index + 1
                result.log.append(f"{event.lineno}: {event.direction} {event.describe()}")
                previous = event
            result.complete = True
            self._after_end()
        except _Diverged as exc:
            result.divergence = exc.divergence
            result.log.append(f"DIVERGED: {exc.divergence}")
            self._refuse()
        except EOFError:
            pass
        return result

    def _after_end(self) -> None:
        """After the recording: anything more the DTE sends is noted (and refused) for a moment."""
        deadline = time.monotonic() + 0.3
        try:
            while self._more(deadline):
                pass
        except EOFError:
            pass
        extra = bytes(b for b in self._buf if b not in IGNORED)
        if extra:
            self.result.extra = bytes(self._buf)
            self.result.divergence = Divergence(self.events[-1].lineno if self.events else 0, "end of recording",
                                                bytes(self._buf[:60]).decode("latin-1"),
                                                "the DTE went on after the recorded session ended")
            self._refuse()

    def _refuse(self) -> None:
        """ERROR at once (the DTE waits for an answer to what diverged), then to every command line
        until stopped, the DTE goes away or falls silent for ``idle``."""
        try:
            self._buf.clear()
            self.write(b"\r\nERROR\r\n")
            while not self.stop.is_set():
                while b"\r" in self._buf:
                    del self._buf[:self._buf.index(b"\r") + 1]
                    self.write(b"\r\nERROR\r\n")
                if len(self._buf) > 4096:
                    del self._buf[:-16]
                if not self._more(time.monotonic() + self.idle):
                    return
        except (EOFError, OSError):
            pass


class PtyReplay:
    """A :class:`Replayer` on a new pseudo-terminal, in a thread; :attr:`path` is the device.

    The slave stays open here too (a DTE may close and reopen it); :meth:`wait` returns the
    :class:`ReplayResult` once the session ended, diverged, or :meth:`close` was called."""

    def __init__(self, events, *, idle: float = IDLE, speed: float = 0.0, link: str | None = None):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.link = link
        if link:
            try:
                os.unlink(link)
            except FileNotFoundError:
                pass
            os.symlink(self.path, link)
        os.set_blocking(self.master, False)
        self.replayer = Replayer(events, self._read, self._write, idle=idle, speed=speed)
        self.result: ReplayResult | None = None
        self._thread = threading.Thread(target=self._run, name="modem-replay", daemon=True)
        self._thread.start()

    def _read(self, timeout: float) -> bytes | None:
        try:
            ready, _, _ = select.select([self.master], [], [], timeout)
            if not ready:
                return b""
            return os.read(self.master, 4096)
        except BlockingIOError:
            return b""
        except OSError:
            return None

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self.replayer.stop.is_set():
            _, ready, _ = select.select([], [self.master], [], 0.2)
            if ready:
                try:
                    view = view[os.write(self.master, view):]
                except BlockingIOError:
                    continue

    def _run(self) -> None:
        try:
            self.result = self.replayer.run()
        except OSError as exc:
            self.result = self.replayer.result
            self.result.log.append(f"pty error: {exc}")

    def wait(self, timeout: float | None = None) -> ReplayResult | None:
        """The result once the replay thread has finished (None if still running after ``timeout``)."""
        self._thread.join(timeout)
        return self.result if not self._thread.is_alive() else None

    def close(self) -> ReplayResult:
        self.replayer.stop.set()
        self._thread.join(timeout=3)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.link:
            try:
                os.unlink(self.link)
            except OSError:
                pass
        return self.result or self.replayer.result

    def __enter__(self) -> "PtyReplay":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
