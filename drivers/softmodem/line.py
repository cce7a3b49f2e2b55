"""drivers.softmodem.line — the simulated exchange and the line between two software modems.

An :class:`Exchange` is an in-process telephone exchange: software modems register a number on it;
dialling a number rings the modem registered to it, gives BUSY when it is in a call (or configured
busy), NO ANSWER after ``max_rings`` rings. An answered :class:`Call` has one :class:`Channel` per
direction; a channel carries :class:`Carrier` s, each of one T.31 modulation (T.31 Table 4 / §8.3.1):
V.21 channel 2 carriers carry HDLC line octets (flags, bit-stuffed frames, LSB first), high-speed
carriers carry page or TCF octets after a training time. A receiver must use the same modulation
as the transmitter, as on a real line.

Time: every line duration (training, preamble, bits / rate, silences, CED, rings) is divided by
the exchange's ``rate_scale`` (1 = real time; 10 = ten times faster, for tests).

Faults (:class:`Faults`, per modem, or per exchange as the default of its modems), all applied by
the *transmitting* modem to what it puts on the line:

    ber=1e-4        bit error rate in high-speed data (TCF and pages), seeded by ``seed=N``
    drop=SPEC       HDLC frames lost (the receiver sees flags only)
    corrupt=SPEC    HDLC frames with one bit flipped (the receiver's FCS check fails)
    cut=WHERE       the call is cut: ``frame:N`` (instead of this modem's N-th frame), ``fcf:XX``
                    (instead of the first frame with FCF XX), ``data:N[@BYTES]`` (BYTES, default
                    1000, into this modem's N-th high-speed carrier), ``answer`` (right after answering)
    busy=1          this number is always busy
    no_answer=1     this modem never rings nor answers: callers get NO ANSWER

    SPEC is a comma list of ``nK`` (the K-th frame this modem sends in the call), ``XX`` (hex FCF,
    X bit masked: its first occurrence), ``XX/K`` (its K-th occurrence) or ``XX*`` (every one).
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from dataclasses import dataclass, fields

# T.31 modulation codes (T.31 Table 4; fax-protocol.md §4.4): code -> (name, bit/s, training seconds).
# Training times: V.27ter 2400 ≈ 943 ms, 4800 ≈ 708 ms; V.29 ≈ 253 ms; V.17 long ≈ 1393 ms, short ≈ 142 ms.
MODULATIONS = {
    3: ("V.21", 300, 0.0),
    24: ("V.27ter", 2400, 0.943), 48: ("V.27ter", 4800, 0.708),
    72: ("V.29", 7200, 0.253), 96: ("V.29", 9600, 0.253),
    73: ("V.17", 7200, 1.393), 74: ("V.17", 7200, 0.142),
    97: ("V.17", 9600, 1.393), 98: ("V.17", 9600, 0.142),
    121: ("V.17", 12000, 1.393), 122: ("V.17", 12000, 0.142),
    145: ("V.17", 14400, 1.393), 146: ("V.17", 14400, 0.142),
}
HIGH_SPEED = tuple(sorted(code for code in MODULATIONS if code != 3))
CED_SECONDS = 3.0           # answer tone before the first V.21 signal (T.30 §4.3.1.1: 2.6-4 s)
CARRIER_CAP = 8 << 20       # octets kept per carrier; a page at 14 400 bit/s for a minute is ~108 KB


def same_modulation(a: int, b: int) -> bool:
    """True when a receiver set to ``b`` can demodulate a carrier sent with ``a`` (long and short
    V.17 training of the same rate count as the same modulation)."""
    return MODULATIONS[a][:2] == MODULATIONS[b][:2]


# --- faults ----------------------------------------------------------------------------------------------

class FrameSpec:
    """Which HDLC frames a fault hits: see the module docstring for the syntax."""

    _TOKEN = re.compile(r"^(?:n(\d+)|([0-9a-fA-F]{2})(\*|/\d+)?)$")

    def __init__(self, text: str = ""):
        self.text = text
        self.indexes: set[int] = set()
        self.fcfs: dict[int, object] = {}  # fcf -> "*" or an occurrence number
        for token in filter(None, (t.strip() for t in text.split(","))):
            m = self._TOKEN.match(token)
            if not m:
                raise ValueError(f"bad frame fault {token!r}: use nK, XX, XX/K or XX* (XX a hex FCF)")
            if m.group(1):
                self.indexes.add(int(m.group(1)))
            else:
                how = m.group(3)
                self.fcfs[int(m.group(2), 16) & 0xFE] = "*" if how == "*" else int(how[1:]) if how else 1

    def hits(self, index: int, fcf: int | None, occurrence: int) -> bool:
        if index in self.indexes:
            return True
        if fcf is None or (fcf & 0xFE) not in self.fcfs:
            return False
        want = self.fcfs[fcf & 0xFE]
        return want == "*" or want == occurrence

    def __bool__(self) -> bool:
        return bool(self.indexes or self.fcfs)


@dataclass
class Faults:
    """Faults on demand; ``Faults.parse({"ber": "1e-4", ...})`` reads URL / command-line options."""

    ber: float = 0.0
    seed: int = 0
    drop: str = ""
    corrupt: str = ""
    cut: str = ""
    busy: bool = False
    no_answer: bool = False

    def __post_init__(self):
        if not 0.0 <= self.ber < 0.5:
            raise ValueError(f"ber must be in [0, 0.5), not {self.ber}")
        self.drop_spec = FrameSpec(self.drop)
        self.corrupt_spec = FrameSpec(self.corrupt)
        self.cut_at = _parse_cut(self.cut)

    @classmethod
    def parse(cls, options: dict) -> "Faults":
        kinds = {f.name: f.type for f in fields(cls)}
        values = {}
        for key, value in options.items():
            if key not in kinds:
                raise ValueError(f"unknown fault {key!r} (known: {', '.join(kinds)})")
            kind = kinds[key]
            if kind in ("bool", bool):
                values[key] = str(value).lower() in ("1", "true", "yes", "on")
            elif kind in ("float", float):
                values[key] = float(value)
            elif kind in ("int", int):
                values[key] = int(value)
            else:
                values[key] = str(value)
        return cls(**values)


def _parse_cut(text: str):
    if not text:
        return None
    m = re.match(r"^(?:frame:(\d+)|fcf:([0-9a-fA-F]{2})|data:(\d+)(?:@(\d+))?|answer)$", text)
    if not m:
        raise ValueError(f"bad cut fault {text!r}: use frame:N, fcf:XX, data:N[@BYTES] or answer")
    if text == "answer":
        return ("answer",)
    if m.group(1):
        return ("frame", int(m.group(1)))
    if m.group(2):
        return ("fcf", int(m.group(2), 16) & 0xFE)
    return ("data", int(m.group(3)), int(m.group(4) or 1000))


class FaultState:
    """The faults of one transmitting modem during one call: counters and the seeded generator."""

    def __init__(self, faults: Faults):
        self.faults = faults
        self.rng = random.Random(faults.seed)
        self.frames = 0
        self.fcf_seen: dict[int, int] = {}
        self.carriers = 0            # high-speed carriers sent
        self.hs_bytes = 0            # octets in the current high-speed carrier
        self._gap = self._next_gap()

    def _next_gap(self) -> int:
        ber = self.faults.ber
        if ber <= 0:
            return -1
        # bits until the next error: geometric with success probability ``ber``
        u = 1.0 - self.rng.random()
        return int(math.log(u) / math.log1p(-ber))

    def frame(self, frame: bytes) -> str:
        """Count a frame about to be sent; return "cut", "drop", "corrupt" or ""."""
        self.frames += 1
        fcf = frame[2] if len(frame) >= 3 else None
        occurrence = 0
        if fcf is not None:
            occurrence = self.fcf_seen.get(fcf & 0xFE, 0) + 1
            self.fcf_seen[fcf & 0xFE] = occurrence
        cut = self.faults.cut_at
        if cut and ((cut[0] == "frame" and cut[1] == self.frames)
                    or (cut[0] == "fcf" and fcf is not None and fcf & 0xFE == cut[1] and occurrence == 1)):
            return "cut"
        if self.faults.drop_spec.hits(self.frames, fcf, occurrence):
            return "drop"
        if self.faults.corrupt_spec.hits(self.frames, fcf, occurrence):
            return "corrupt"
        return ""

    def start_data(self) -> None:
        self.carriers += 1
        self.hs_bytes = 0

    def data(self, chunk: bytes) -> tuple[bytes, bool]:
        """Bit errors applied to a high-speed chunk; also whether the call is to be cut now."""
        cut = self.faults.cut_at
        self.hs_bytes += len(chunk)
        cut_now = bool(cut and cut[0] == "data" and cut[1] == self.carriers and self.hs_bytes >= cut[2])
        if self._gap < 0:
            return chunk, cut_now
        nbits = len(chunk) * 8
        out = None
        pos = self._gap
        while pos < nbits:
            if out is None:
                out = bytearray(chunk)
            out[pos >> 3] ^= 1 << (pos & 7)
            pos += 1 + self._next_gap()
        self._gap = pos - nbits
        return (bytes(out) if out is not None else chunk), cut_now


# --- the line ---------------------------------------------------------------------------------------------

class Carrier:
    """One transmission on a channel: a modulation, octets as they arrived, a start and an end."""

    def __init__(self, mod: int, start: float, trained_at: float):
        self.mod = mod
        self.start = start
        self.trained_at = trained_at
        self.chunks: list[bytes] = []
        self.size = 0
        self.ended = False
        self.end = None

    @property
    def hdlc(self) -> bool:
        return self.mod == 3

    def push(self, chunk: bytes) -> None:
        if chunk and self.size + len(chunk) <= CARRIER_CAP:
            self.chunks.append(chunk)
            self.size += len(chunk)


class Channel:
    """One direction of a call: the carriers one modem sends, the last few kept."""

    def __init__(self, now: float):
        self.carriers: list[Carrier] = []
        self.silent_since = now

    @property
    def latest(self) -> Carrier | None:
        return self.carriers[-1] if self.carriers else None

    @property
    def current(self) -> Carrier | None:
        c = self.latest
        return c if c is not None and not c.ended else None

    def start(self, mod: int, now: float, trained_at: float) -> Carrier:
        if self.current is not None:
            self.stop(now)
        carrier = Carrier(mod, now, trained_at)
        self.carriers.append(carrier)
        del self.carriers[:-4]
        return carrier

    def stop(self, now: float) -> None:
        c = self.current
        if c is not None:
            c.ended, c.end = True, now
            self.silent_since = now


class Call:
    """A call between two modems: ``ringing`` → ``up`` → ``ended`` (or ``no answer``)."""

    def __init__(self, caller, callee, ring_start: float):
        self.caller, self.callee = caller, callee
        self.state = "ringing"
        self.ring_start = ring_start
        self.reason = ""
        self.channels: dict[int, Channel] = {}

    def own(self, modem) -> Channel:
        return self.channels[id(modem)]

    def far(self, modem) -> Channel:
        other = self.callee if modem is self.caller else self.caller
        return self.channels[id(other)]

    def other(self, modem):
        return self.callee if modem is self.caller else self.caller

    @property
    def up(self) -> bool:
        return self.state == "up"


def normalize_number(text: str) -> str:
    """Dial string → the digits an exchange routes on (V.250 §6.3.1: T, P, W, ',', '!' … dropped)."""
    return "".join(ch for ch in text if ch.isdigit() or ch in "*#")


class Exchange:
    """An in-process exchange joining software modems by number. Use :meth:`named` to share one."""

    _registry: dict[str, "Exchange"] = {}
    _registry_lock = threading.Lock()
    DEFAULTS = {"rate_scale": 1.0, "ring_interval": 6.0, "max_rings": 5}

    def __init__(self, name: str = "", *, rate_scale: float = 1.0, ring_interval: float = 6.0,
                 max_rings: int = 5, faults: Faults | None = None, route: str = ""):
        """``route``: the number that takes calls to numbers no modem has (like a PBX's operator;
        "" = such calls get NO CARRIER)."""
        if not rate_scale > 0:
            raise ValueError(f"rate_scale must be > 0, not {rate_scale}")
        if max_rings < 1:
            raise ValueError(f"max_rings must be ≥ 1, not {max_rings}")
        self.name = name
        self.rate_scale = float(rate_scale)
        self.ring_interval = float(ring_interval)
        self.max_rings = int(max_rings)
        self.faults = faults or Faults()
        self.route = normalize_number(route)
        self.cond = threading.Condition(threading.RLock())
        self.modems: dict[str, object] = {}

    @classmethod
    def named(cls, name: str, **options) -> "Exchange":
        """The exchange called ``name``, created with ``options`` if it does not exist yet."""
        with cls._registry_lock:
            exchange = cls._registry.get(name)
            if exchange is None:
                exchange = cls._registry[name] = cls(name, **options)
                return exchange
        if normalize_number(options.get("route", exchange.route)) != exchange.route:
            raise ValueError(f"exchange {name!r} already routes unknown numbers to {exchange.route or 'nobody'}")
        for key, value in options.items():
            if key in cls.DEFAULTS and float(getattr(exchange, key)) != float(value):
                raise ValueError(f"exchange {name!r} already runs with {key}={getattr(exchange, key)}, not {value}")
        return exchange

    def scaled(self, seconds: float) -> float:
        """A line duration in wall-clock seconds."""
        return seconds / self.rate_scale

    # -- numbers ---------------------------------------------------------------------------------------
    def register(self, number: str, modem) -> None:
        key = normalize_number(number)
        if not key:
            raise ValueError(f"a software modem needs a number with digits, not {number!r}")
        with self.cond:
            if key in self.modems:
                raise ValueError(f"number {key} is already taken on exchange {self.name!r}")
            self.modems[key] = modem

    def unregister(self, modem) -> None:
        with self.cond:
            for key in [k for k, m in self.modems.items() if m is modem]:
                del self.modems[key]
            empty = not self.modems
        if empty:
            with self._registry_lock:
                if self._registry.get(self.name) is self:
                    del self._registry[self.name]

    # -- calls -----------------------------------------------------------------------------------------
    def dial(self, caller, number: str):
        """Start a call; a :class:`Call` in state ``ringing``, or a result code (BUSY, NO CARRIER)."""
        with self.cond:
            callee = self.modems.get(normalize_number(number))
            if callee is None and self.route:
                callee = self.modems.get(self.route)
            if callee is None:
                return "NO CARRIER"
            if callee is caller or callee.faults.busy or callee.call is not None or callee.incoming is not None:
                return "BUSY"
            call = Call(caller, callee, time.monotonic() + self.scaled(0.5))
            caller.call = call
            if not callee.faults.no_answer:
                callee.incoming = call
            self.cond.notify_all()
            return call

    def answer(self, call: Call) -> None:
        with self.cond:
            now = time.monotonic()
            call.state = "up"
            call.channels = {id(call.caller): Channel(now), id(call.callee): Channel(now)}
            call.callee.call = call
            call.callee.incoming = None
            self.cond.notify_all()

    def end(self, call: Call, reason: str, state: str = "ended") -> None:
        """Hang up or cut ``call``: both modems see it gone (pending operations end NO CARRIER)."""
        with self.cond:
            if call.state in ("ended", "no answer"):
                return
            call.state, call.reason = state, reason
            now = time.monotonic()
            for channel in call.channels.values():
                channel.stop(now)
            for modem in (call.caller, call.callee):
                if modem.call is call:
                    modem.call = None
                if modem.incoming is call:
                    modem.incoming = None
            self.cond.notify_all()
