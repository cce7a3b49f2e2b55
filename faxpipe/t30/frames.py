"""T.30 frames: facsimile control fields, DIS/DTC/DCS bit fields, identities, negotiation.

**One notation.** Every FCF value in this module is the octet as a Class 1 modem passes it over the
serial line (spandsp ``t30_fcf.h``; fax-protocol.md §4.1): T.30 numbers the bits 1…8 in
transmission order and the serial line sends the least significant bit first, so bit 1 is the LSB.
The Recommendation's tables (and HylaFAX ``util/t.30.h``, efax) print the same octet the other way
round; :func:`itu_notation` converts (DCS with X: serial ``0x83`` = T.30 ``0xC1``).

* Address ``0xFF``; control ``0x03`` (ITU ``0xC0``) or, on the final frame of a signal, ``0x13``
  (ITU ``0xC8``) — T.30 §5.3.4 / §5.3.5.
* The X bit (T.30 §5.3.6.1: "set to 1 by the station that received a valid DIS") is the LSB of the
  serial FCF. It does not apply to the DIS/DTC group, whose LSB is part of the code
  (DIS 0x80 / DTC 0x81), nor to the T.4 ECM frames.
* DIS/DTC/DCS (T.30 Table 2, fax-protocol.md §4.2) are frozen dataclasses with named fields;
  bits faxpipe does not model are kept in ``other_bits`` so parse → build is lossless. The
  extension bits (24, 32, 40 …) are computed, never stored.
* Identities (CSI/TSI/CIG, T.30 §5.3.6.2.4): 20 characters, digits, "+" and space, sent last
  character first.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from ..page import Resolution
from .completion import Completion, FrameError, T30Error

ADDRESS = 0xFF
CONTROL = 0x03        # non-final frame (T.30 ITU notation 0xC0)
CONTROL_FINAL = 0x13  # final frame of a signal (T.30 ITU notation 0xC8)
X_BIT = 0x01
IDENT_LENGTH = 20
IDENT_CHARS = frozenset("0123456789+ ")


def reverse_bits(octet: int) -> int:
    """The octet with bit order reversed: serial (Class 1) notation ↔ T.30 table notation."""
    return int(f"{octet & 0xFF:08b}"[::-1], 2)


def itu_notation(serial: int) -> int:
    """A serial-line octet as the T.30 tables print it (0x83 → 0xC1)."""
    return reverse_bits(serial)


def from_itu_notation(itu: int) -> int:
    """A T.30-table octet as it travels on the serial line (0xC1 → 0x83)."""
    return reverse_bits(itu)


class FCF(enum.IntEnum):
    """Facsimile control fields, serial notation with X = 0 (T.30 §5.3.6; fax-protocol.md §4.1)."""

    # Initial identification from the called station, and the DTC group (LSB is part of the code)
    DIS = 0x80
    CSI = 0x40
    NSF = 0x20
    DTC = 0x81
    CIG = 0x41
    NSC = 0x21
    PWD = 0xC1  # password for polling (spandsp t30_fcf.h)
    SEP = 0xA1  # selective polling sub-address
    # Command to receive
    DCS = 0x82
    TSI = 0x42
    NSS = 0x22
    SUB = 0xC2  # sub-address
    SID = 0xA2  # sender identification / password for transmission
    # Pre-message responses
    CFR = 0x84
    FTT = 0x44
    CTR = 0xC4
    # Post-message commands
    EOM = 0x8E
    MPS = 0x4E
    EOP = 0x2E
    PRI_EOM = 0x9E
    PRI_MPS = 0x5E
    PRI_EOP = 0x3E
    PPS = 0xBE
    EOR = 0xCE
    RR = 0x6E
    CTC = 0x12
    # Post-message responses
    MCF = 0x8C
    RTN = 0x4C
    RTP = 0xCC
    PIN = 0x2C
    PIP = 0xAC
    PPR = 0xBC
    RNR = 0xEC
    ERR = 0x1C
    # Other line control
    DCN = 0xFA
    CRP = 0x1A
    # T.4 Annex A ECM image frames
    FCD = 0x06
    RCP = 0x86

    @property
    def has_x_bit(self) -> bool:
        return self not in _NO_X

    @property
    def itu(self) -> int:
        return itu_notation(self.value)


_NO_X = frozenset({FCF.DIS, FCF.CSI, FCF.NSF, FCF.DTC, FCF.CIG, FCF.NSC, FCF.PWD, FCF.SEP, FCF.FCD, FCF.RCP})
_BY_CODE = {f.value: f for f in FCF}


def lookup_fcf(octet: int) -> tuple[FCF, bool]:
    """(FCF, X bit) for a received FCF octet; :class:`FrameError` if the code is unknown."""
    exact = _BY_CODE.get(octet)
    if exact is not None and exact in _NO_X:
        return exact, False
    masked = _BY_CODE.get(octet & ~X_BIT & 0xFF)
    if masked is None or masked in _NO_X:
        raise FrameError(f"unknown T.30 FCF 0x{octet:02X} (T.30 notation 0x{itu_notation(octet):02X})")
    return masked, bool(octet & X_BIT)


def describe_fcf(octet: int) -> str:
    """"DCS X=1 (serial 0x83, T.30 0xC1)" — both notations, for logs and transcripts."""
    try:
        fcf, x = lookup_fcf(octet)
    except FrameError:
        return f"unknown (serial 0x{octet:02X}, T.30 0x{itu_notation(octet):02X})"
    xs = f" X={int(x)}" if fcf.has_x_bit else ""
    return f"{fcf.name}{xs} (serial 0x{octet:02X}, T.30 0x{itu_notation(octet):02X})"


@dataclass(frozen=True, kw_only=True)
class Frame:
    """One T.30 HDLC frame without its FCS: address, control, FCF (+X), FIF (T.30 §5.3)."""

    fcf: FCF
    fif: bytes = b""
    x: bool = False
    final: bool = True

    def __post_init__(self):
        if not isinstance(self.fcf, FCF):
            raise TypeError(f"fcf must be an FCF, not {self.fcf!r}")
        if self.x and not self.fcf.has_x_bit:
            raise ValueError(f"{self.fcf.name} has no X bit")
        object.__setattr__(self, "fif", bytes(self.fif))

    @property
    def fcf_octet(self) -> int:
        return self.fcf.value | (X_BIT if self.x else 0)

    def encode(self) -> bytes:
        """Address, control, FCF, FIF — what a Class 1 DTE writes after ``+FTH=3`` CONNECT."""
        return bytes((ADDRESS, CONTROL_FINAL if self.final else CONTROL, self.fcf_octet)) + self.fif

    @classmethod
    def decode(cls, data: bytes) -> "Frame":
        """Parse address, control, FCF, FIF (no FCS); :class:`FrameError` on anything malformed."""
        data = bytes(data)
        if len(data) < 3:
            raise FrameError(f"T.30 frame of {len(data)} octets: at least address, control and FCF are needed")
        if data[0] != ADDRESS:
            raise FrameError(f"T.30 frame address 0x{data[0]:02X}, expected 0xFF (T.30 §5.3.4)")
        if data[1] not in (CONTROL, CONTROL_FINAL):
            raise FrameError(f"T.30 control field 0x{data[1]:02X}, expected 0x03 or 0x13 (T.30 §5.3.5)")
        fcf, x = lookup_fcf(data[2])
        return cls(fcf=fcf, fif=data[3:], x=x, final=data[1] == CONTROL_FINAL)

    def __str__(self) -> str:
        fif = f" {self.fif.hex(' ')}" if self.fif else ""
        return f"{self.fcf.name}{' X' if self.x else ''}{'' if self.final else ' (non-final)'}{fif}"


# --- identities (T.30 §5.3.6.2.4) -----------------------------------------------------------------

def encode_ident(ident: str) -> bytes:
    """The FIF of CSI / TSI / CIG: 20 characters, space padded, last character first."""
    if len(ident) > IDENT_LENGTH:
        raise ValueError(f"station identity {ident!r} is longer than {IDENT_LENGTH} characters")
    bad = set(ident) - IDENT_CHARS
    if bad:
        raise ValueError(f"station identity {ident!r} may hold only digits, '+' and space, not {sorted(bad)}")
    return ident.ljust(IDENT_LENGTH).encode("ascii")[::-1]


def decode_ident(fif: bytes) -> str:
    """The identity a peer sent, outer spaces removed; other bytes than printable ASCII become '?'."""
    text = "".join(chr(b) if 0x20 <= b < 0x7F else "?" for b in bytes(fif)[::-1][:64])
    return text.strip()


def ident_frame(fcf: FCF, ident: str, *, x: bool = False) -> Frame:
    if fcf not in (FCF.CSI, FCF.TSI, FCF.CIG):
        raise ValueError(f"{fcf.name} is not an identity frame")
    return Frame(fcf=fcf, fif=encode_ident(ident), x=x, final=False)


# --- DIS / DTC / DCS fields (T.30 Table 2) ---------------------------------------------------------

class Rate(enum.Enum):
    """Data signalling rates: DCS bits 11-14, bit/s, modem, Class 1 codes (long, short training)."""

    V27_2400 = ((0, 0, 0, 0), 2400, "V.27ter", 24, 24)
    V27_4800 = ((0, 1, 0, 0), 4800, "V.27ter", 48, 48)
    V29_7200 = ((1, 1, 0, 0), 7200, "V.29", 72, 72)
    V29_9600 = ((1, 0, 0, 0), 9600, "V.29", 96, 96)
    V17_7200 = ((1, 1, 0, 1), 7200, "V.17", 73, 74)
    V17_9600 = ((1, 0, 0, 1), 9600, "V.17", 97, 98)
    V17_12000 = ((0, 1, 0, 1), 12000, "V.17", 121, 122)
    V17_14400 = ((0, 0, 0, 1), 14400, "V.17", 145, 146)

    def __init__(self, bits, bps, modem, long_code, short_code):
        self.bits = bits
        self.bps = bps
        self.modem = modem
        self.long_code = long_code
        self.short_code = short_code

    def __repr__(self) -> str:
        return f"<Rate.{self.name}>"

    def class1_code(self, *, long_training: bool) -> int:
        """T.31 +FTM / +FRM modulation code (fax-protocol.md §4.4)."""
        return self.long_code if long_training else self.short_code

    def __str__(self) -> str:
        return f"{self.modem} {self.bps}"


#: The order a sender steps down after FTT (spandsp t30.c:418-430; fax-protocol.md §4.4).
FALLBACK = (Rate.V17_14400, Rate.V17_12000, Rate.V17_9600, Rate.V29_9600,
            Rate.V17_7200, Rate.V29_7200, Rate.V27_4800, Rate.V27_2400)


class Modems(enum.Enum):
    """DIS/DTC bits 11-14: the modem families a station offers (T.30 Table 2)."""

    V27TER_FALLBACK = ((0, 0, 0, 0), frozenset({Rate.V27_2400}))
    V27TER = ((0, 1, 0, 0), frozenset({Rate.V27_2400, Rate.V27_4800}))
    V29 = ((1, 0, 0, 0), frozenset({Rate.V29_7200, Rate.V29_9600}))
    V27TER_V29 = ((1, 1, 0, 0), frozenset({Rate.V27_2400, Rate.V27_4800, Rate.V29_7200, Rate.V29_9600}))
    V27TER_V29_V17 = ((1, 1, 0, 1), frozenset(Rate))

    def __init__(self, bits, rates):
        self.bits = bits
        self.rates = rates

    def __repr__(self) -> str:
        return f"<Modems.{self.name}>"


class Width(enum.Enum):
    """Bits 17-18: recording width (DIS: the widest accepted; DCS: the one used)."""

    A4 = ((0, 0), 1728)  # 215 mm
    B4 = ((1, 0), 2048)  # 255 mm
    A3 = ((0, 1), 2432)  # 303 mm

    def __init__(self, bits, pels):
        self.bits = bits
        self.pels = pels

    def __repr__(self) -> str:
        return f"<Width.{self.name}>"


class Length(enum.Enum):
    """Bits 19-20: recording length (DIS: the longest accepted; DCS: the one used)."""

    A4 = (0, 0)
    B4 = (1, 0)
    UNLIMITED = (0, 1)


#: DIS bits 21-23 (b21 + 2·b22 + 4·b23) → minimum scan-line time in ms at (3.85, 7.7 l/mm)
#: (T.30 Table 2; spandsp t30.c:226-233; fax-protocol.md §4.3).
DIS_SCAN_TIMES = {0: (20, 20), 1: (5, 5), 2: (10, 10), 4: (40, 40), 3: (20, 10), 5: (40, 20), 6: (10, 5), 7: (0, 0)}
#: DCS bits 21-23 → the minimum scan-line time in ms the sender uses.
DCS_SCAN_TIMES = {0: 20, 1: 5, 2: 10, 4: 40, 7: 0}
_DCS_SCAN_CODE = {ms: code for code, ms in DCS_SCAN_TIMES.items()}

_DIS_BITS = {"ready_to_transmit": 9, "ready_to_receive": 10, "fine": 15, "two_d": 16, "uncompressed": 26,
             "ecm": 27, "t6": 31, "superfine": 41, "inch_preferred": 44, "metric_preferred": 45,
             "superfine_half_scan": 46, "letter": 76, "legal": 77}
_DCS_BITS = {"receive": 10, "fine": 15, "two_d": 16, "uncompressed": 26, "ecm": 27, "ecm_frame_64": 28,
             "t6": 31, "superfine": 41, "inch_based": 44}
_FIELD_BITS = frozenset(range(11, 15)) | {17, 18, 19, 20, 21, 22, 23}
MAX_FIF = 32  # octets; T.30 Table 2 ends well before bit 256


def _is_extend(bit: int) -> bool:
    return bit >= 24 and bit % 8 == 0


def fif_from_bits(bits) -> bytes:
    """Pack bit numbers into a FIF: at least 3 octets, extension bits set where another follows."""
    bits = set(bits)
    top = max(bits, default=1)
    octets = bytearray(max(3, (top + 7) // 8))
    for n in bits:
        octets[(n - 1) // 8] |= 1 << ((n - 1) % 8)
    for i in range(2, len(octets) - 1):
        octets[i] |= 0x80
    return bytes(octets)


def bits_from_fif(fif: bytes) -> frozenset[int]:
    """The bit numbers set in a FIF, following the extension bits (T.30 Table 2 bits 24, 32 …).

    Octets after one whose extension bit is clear are ignored; a FIF shorter than 3 octets is a
    :class:`FrameError` (fax-protocol.md §4.1).
    """
    fif = bytes(fif)
    if len(fif) < 3:
        raise FrameError(f"DIS/DTC/DCS FIF of {len(fif)} octets: T.30 needs at least 3")
    if len(fif) > MAX_FIF:
        raise FrameError(f"DIS/DTC/DCS FIF of {len(fif)} octets is longer than {MAX_FIF}")
    bits = set()
    for i, octet in enumerate(fif):
        for j in range(8):
            if octet >> j & 1:
                bits.add(8 * i + j + 1)
        if i >= 2 and not octet & 0x80:
            break
    return frozenset(b for b in bits if not _is_extend(b))


def _pick(table, bits: frozenset[int], first: int, count: int, what: str):
    key = tuple(int(first + i in bits) for i in range(count))
    for member in table:
        if member.bits == key:
            return member
    raise FrameError(f"reserved {what} code {''.join(map(str, key))} in bits {first}-{first + count - 1}")


def _put(bits: set, first: int, values) -> None:
    bits.update(first + i for i, v in enumerate(values) if v)


def _check_other(other: frozenset[int], named: dict) -> frozenset[int]:
    other = frozenset(other)
    clash = other & (_FIELD_BITS | set(named.values()))
    if clash or any(b < 1 or b > 8 * MAX_FIF or _is_extend(b) for b in other):
        raise ValueError(f"other_bits must not hold named, extension or out-of-range bits: {sorted(other)}")
    return other


@dataclass(frozen=True, kw_only=True)
class DIS:
    """DIS / DTC: what a station can do (T.30 Table 2, fax-protocol.md §4.2)."""

    ready_to_transmit: bool = False
    ready_to_receive: bool = True
    modems: Modems = Modems.V27TER_V29_V17
    fine: bool = True
    two_d: bool = True
    width: Width = Width.A4
    length: Length = Length.UNLIMITED
    min_scan_code: int = 7
    uncompressed: bool = False
    ecm: bool = False
    t6: bool = False
    superfine: bool = False
    inch_preferred: bool = False
    metric_preferred: bool = False
    superfine_half_scan: bool = False
    letter: bool = False
    legal: bool = False
    other_bits: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self):
        if self.min_scan_code not in DIS_SCAN_TIMES:
            raise ValueError(f"min_scan_code must be 0-7, not {self.min_scan_code!r}")
        object.__setattr__(self, "other_bits", _check_other(self.other_bits, _DIS_BITS))

    @property
    def rates(self) -> frozenset[Rate]:
        return self.modems.rates

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(w.pels for w in Width if w.pels <= self.width.pels)

    def min_scan_ms(self, resolution: Resolution) -> float:
        """Minimum scan-line time the station needs at a resolution (bits 21-23, 46)."""
        std, fine = DIS_SCAN_TIMES[self.min_scan_code]
        if resolution is Resolution.STANDARD:
            return std
        if resolution is Resolution.FINE:
            return fine
        return fine / 2 if self.superfine_half_scan else fine

    def bits(self) -> frozenset[int]:
        bits = {n for name, n in _DIS_BITS.items() if getattr(self, name)}
        _put(bits, 11, self.modems.bits)
        _put(bits, 17, self.width.bits)
        _put(bits, 19, self.length.value)
        _put(bits, 21, (self.min_scan_code & 1, self.min_scan_code >> 1 & 1, self.min_scan_code >> 2 & 1))
        return frozenset(bits | self.other_bits)

    def encode(self) -> bytes:
        return fif_from_bits(self.bits())

    @classmethod
    def decode(cls, fif: bytes) -> "DIS":
        bits = bits_from_fif(fif)
        width = Width.A3 if 18 in bits else Width.B4 if 17 in bits else Width.A4
        length = Length.UNLIMITED if 20 in bits else Length.B4 if 19 in bits else Length.A4
        return cls(
            modems=_pick(Modems, bits, 11, 4, "DIS data signalling rate"),
            width=width, length=length,
            min_scan_code=sum(1 << i for i in range(3) if 21 + i in bits),
            other_bits=bits - _FIELD_BITS - set(_DIS_BITS.values()),
            **{name: n in bits for name, n in _DIS_BITS.items()},
        )

    def frame(self, *, dtc: bool = False) -> Frame:
        return Frame(fcf=FCF.DTC if dtc else FCF.DIS, fif=self.encode())


@dataclass(frozen=True, kw_only=True)
class DCS:
    """DCS: what the sender chose for this transfer (T.30 Table 2, fax-protocol.md §4.2)."""

    rate: Rate = Rate.V17_14400
    receive: bool = True
    fine: bool = False
    two_d: bool = False
    width: Width = Width.A4
    length: Length = Length.A4
    min_scan_ms: int = 20
    uncompressed: bool = False
    ecm: bool = False
    ecm_frame_64: bool = False
    t6: bool = False
    superfine: bool = False
    inch_based: bool = False
    other_bits: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self):
        if self.min_scan_ms not in _DCS_SCAN_CODE:
            raise ValueError(f"DCS minimum scan-line time must be one of {sorted(_DCS_SCAN_CODE)} ms")
        if self.fine and self.superfine:
            raise ValueError("DCS selects one vertical resolution: fine or superfine, not both")
        object.__setattr__(self, "other_bits", _check_other(self.other_bits, _DCS_BITS))

    @property
    def resolution(self) -> Resolution:
        return Resolution.SUPERFINE if self.superfine else Resolution.FINE if self.fine else Resolution.STANDARD

    @property
    def coding(self) -> str:
        """"mmr" (bit 31, T.6), "mr" (bit 16, T.4 2-D) or "mh" — faxpipe.codec scheme names."""
        return "mmr" if self.t6 else "mr" if self.two_d else "mh"

    @property
    def min_bits(self) -> int:
        """Minimum bits per coded line at this rate (T.4 §4.1.3; none in ECM nor for T.6, §4.3)."""
        return 0 if self.ecm or self.t6 else self.rate.bps * self.min_scan_ms // 1000

    @property
    def params(self) -> "PageParams":
        return PageParams(coding=self.coding, width=self.width.pels, resolution=self.resolution,
                          min_bits=self.min_bits, ecm=self.ecm, rate=self.rate)

    def bits(self) -> frozenset[int]:
        bits = {n for name, n in _DCS_BITS.items() if getattr(self, name)}
        code = _DCS_SCAN_CODE[self.min_scan_ms]
        _put(bits, 11, self.rate.bits)
        _put(bits, 17, self.width.bits)
        _put(bits, 19, self.length.value)
        _put(bits, 21, (code & 1, code >> 1 & 1, code >> 2 & 1))
        return frozenset(bits | self.other_bits)

    def encode(self) -> bytes:
        return fif_from_bits(self.bits())

    @classmethod
    def decode(cls, fif: bytes) -> "DCS":
        bits = bits_from_fif(fif)
        if 17 in bits and 18 in bits:
            raise FrameError("DCS bits 17 and 18 both set: no such recording width")
        if 19 in bits and 20 in bits:
            raise FrameError("DCS bits 19 and 20 both set: no such recording length")
        code = sum(1 << i for i in range(3) if 21 + i in bits)
        if code not in DCS_SCAN_TIMES:
            raise FrameError(f"reserved DCS minimum scan-line time code {code} (bits 21-23)")
        named = {name: n in bits for name, n in _DCS_BITS.items()}
        if named["fine"] and named["superfine"]:
            raise FrameError("DCS selects both fine (bit 15) and superfine (bit 41)")
        return cls(
            rate=_pick(Rate, bits, 11, 4, "DCS data signalling rate"),
            width=Width.A3 if 18 in bits else Width.B4 if 17 in bits else Width.A4,
            length=Length.UNLIMITED if 20 in bits else Length.B4 if 19 in bits else Length.A4,
            min_scan_ms=DCS_SCAN_TIMES[code],
            other_bits=bits - _FIELD_BITS - set(_DCS_BITS.values()),
            **named,
        )

    def frame(self, *, x: bool = True) -> Frame:
        return Frame(fcf=FCF.DCS, fif=self.encode(), x=x)

    def __str__(self) -> str:
        return (f"{self.rate}, {self.resolution.name.lower()}, {self.coding.upper()}, {self.width.pels} pels, "
                f"{self.min_scan_ms} ms/line{', ECM' if self.ecm else ''}")


@dataclass(frozen=True, kw_only=True)
class PageParams:
    """What the page data must be encoded for: the codec scheme, width in pels, resolution, the
    minimum bits per coded line (zero fill before EOL), and the rate it will be sent at."""

    coding: str
    width: int
    resolution: Resolution
    min_bits: int
    ecm: bool
    rate: Rate


# --- capability intersection (T.30 §5.3.6.2; fax-protocol.md §4.2-4.4) -----------------------------

_CODINGS = ("mh", "mr", "mmr")


def common_rates(local: DIS, remote: DIS) -> tuple[Rate, ...]:
    """Rates both stations offer, fastest first, in FALLBACK order."""
    return tuple(r for r in FALLBACK if r in local.rates and r in remote.rates)


def next_rate(rate: Rate, local: DIS, remote: DIS) -> Rate | None:
    """The next slower common rate after an FTT or RTN, or None at the bottom."""
    rates = common_rates(local, remote)
    later = rates[rates.index(rate) + 1:] if rate in rates else ()
    return later[0] if later else None


def _dcs_scan_ms(needed: float) -> int:
    """The shortest DCS scan-line time that satisfies a need (superfine halves may ask 2.5 ms)."""
    return min(ms for ms in DCS_SCAN_TIMES.values() if ms >= needed)


def negotiate(local: DIS, remote: DIS, *, resolution: Resolution = Resolution.FINE, width: int = 1728,
              coding: str = "mmr", ecm: bool = False, length: Length = Length.UNLIMITED,
              prefer: tuple[str, ...] | None = None, ecm_frame_64: bool = False) -> DCS:
    """The DCS a sender with capabilities ``local`` picks for a receiver that sent ``remote``.

    Fastest common rate; the wanted resolution or the next lower one the receiver takes; the widest
    common width not above the document's; T.6 only with ECM on both sides, MR when both do 2-D,
    else MH (``coding`` caps the choice; ``prefer`` orders the codings, fewest bits first, when the
    caller measured them); ECM when ``ecm`` and both offer it (T.30 Annex A), 64-octet frames if
    ``ecm_frame_64``; the receiver's minimum scan-line time (none with ECM, T.4 §A.1).
    Raises a :class:`T30Error` with :attr:`Completion.INCOMPATIBLE` when no transfer is possible.
    """
    def fail(why: str):
        raise T30Error(f"cannot send to this receiver: {why}", completion=Completion.INCOMPATIBLE)

    if coding not in _CODINGS:
        raise ValueError(f"coding must be one of {_CODINGS}, not {coding!r}")
    if not remote.ready_to_receive:
        fail("its DIS says it is not ready to receive (bit 10)")
    rates = common_rates(local, remote)
    if not rates:
        fail(f"no common modem ({local.modems.name} here, {remote.modems.name} there)")
    use_ecm = ecm and local.ecm and remote.ecm
    order = [Resolution.SUPERFINE, Resolution.FINE, Resolution.STANDARD]
    offered = {Resolution.STANDARD: True, Resolution.FINE: remote.fine and local.fine,
               Resolution.SUPERFINE: remote.superfine and local.superfine}
    res = next(r for r in order[order.index(resolution):] if offered[r])
    widths = [w for w in Width if w.pels <= min(remote.width.pels, local.width.pels)]
    fitting = [w for w in widths if w.pels <= width]
    chosen_width = fitting[-1] if fitting else Width.A4
    lengths = list(Length)
    chosen_length = lengths[min(lengths.index(length), lengths.index(remote.length))]
    wanted = _CODINGS.index(coding)
    possible = {"mmr": wanted >= 2 and use_ecm and local.t6 and remote.t6,
                "mr": wanted >= 1 and local.two_d and remote.two_d, "mh": True}
    order = tuple(prefer or ()) + ("mmr", "mr", "mh")
    scheme = next(c for c in order if possible.get(c))
    scan = 0 if use_ecm else _dcs_scan_ms(remote.min_scan_ms(res))
    return DCS(rate=rates[0], fine=res is Resolution.FINE, superfine=res is Resolution.SUPERFINE,
               two_d=scheme == "mr", t6=scheme == "mmr", width=chosen_width, length=chosen_length,
               min_scan_ms=scan, ecm=use_ecm, ecm_frame_64=use_ecm and ecm_frame_64)


def acceptable(dcs: DCS, local: DIS) -> str | None:
    """Why a receiver with capabilities ``local`` cannot accept ``dcs``, or None if it can."""
    if dcs.rate not in local.rates:
        return f"rate {dcs.rate} not offered"
    if dcs.ecm and not local.ecm:
        return "ECM not offered"
    if dcs.t6 and not (local.t6 and dcs.ecm):
        return "T.6 not offered (or without ECM)"
    if dcs.two_d and not local.two_d:
        return "2-D coding not offered"
    if (dcs.fine and not local.fine) or (dcs.superfine and not local.superfine):
        return f"{dcs.resolution.name.lower()} resolution not offered"
    if dcs.width.pels > local.width.pels:
        return f"width {dcs.width.pels} wider than offered"
    return None


def with_rate(dcs: DCS, rate: Rate) -> DCS:
    return replace(dcs, rate=rate)


def ctc_fif(rate: Rate) -> bytes:
    """The FIF of CTC (T.30 §5.3.6.1.7, Annex A): DCS octets 1-2 holding the new rate in bits 11-14."""
    return fif_from_bits({n for n, v in zip(range(11, 15), rate.bits) if v})[:2]


def rate_from_ctc(fif: bytes) -> Rate:
    """The rate a CTC asks for; :class:`FrameError` if the FIF is short or the code reserved."""
    if len(fif) < 2:
        raise FrameError(f"CTC FIF of {len(fif)} octets: DCS bits 11-14 are needed")
    return _pick(Rate, bits_from_fif(bytes(fif[:2]) + b"\x00"), 11, 4, "CTC data signalling rate")
