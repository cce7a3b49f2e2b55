"""HDLC for T.30: the frame check sequence, bit stuffing and flags (T.30 §5.3.1-5.3.7, ISO 3309).

* FCS: the 16-bit ITU CRC (polynomial x^16 + x^12 + x^5 + 1), register preset to all ones,
  transmitted complemented, low octet first in serial order (T.30 §5.3.7; fax-protocol.md §4.1).
  A Class 1 modem appends these two octets to frames it receives (``+FRH``), and computes them
  itself for frames it sends (``+FTH``).
* On the line — for the software modem — every octet goes least significant bit first, a zero is
  stuffed after five consecutive ones, frames are delimited by flags ``01111110`` (0x7E), and seven
  or more ones abort a frame. :class:`Deframer` undoes this incrementally: feed it any number of
  bytes, even one at a time; it never raises on line noise and never buffers more than
  :data:`MAX_FRAME` octets.
"""

from __future__ import annotations

from dataclasses import dataclass

from .completion import FrameError
from .frames import Frame

FLAG = 0x7E
MAX_FRAME = 2048          # octets between flags; T.30 frames are far shorter (ECM: 3 + 256 + 2)
GOOD_RESIDUE = 0xF0B8     # CRC register after a frame and its FCS (RFC 1662 §C.2 "PPPGOODFCS16")
PREAMBLE_FLAGS = 38       # ≈ 1 s of flags at 300 bit/s (T.30 §5.3.1; TSB-85 checks 850-1 150 ms)


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _crc_table()


def _crc(data: bytes, crc: int = 0xFFFF) -> int:
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


def fcs16(data: bytes) -> int:
    """The FCS of ``data`` as a number; on the line it goes low octet first."""
    return _crc(bytes(data)) ^ 0xFFFF


def add_fcs(data: bytes) -> bytes:
    fcs = fcs16(data)
    return bytes(data) + bytes((fcs & 0xFF, fcs >> 8))


def fcs_ok(data: bytes) -> bool:
    """True if ``data`` ends with the right two FCS octets."""
    return len(data) >= 2 and _crc(bytes(data)) == GOOD_RESIDUE


def strip_fcs(data: bytes) -> bytes:
    """``data`` without its FCS; :class:`FrameError` if it is too short or the FCS is wrong."""
    data = bytes(data)
    if len(data) < 5:
        raise FrameError(f"HDLC frame of {len(data)} octets: address, control, FCF and 2 FCS octets are needed")
    if not fcs_ok(data):
        raise FrameError(f"bad FCS {data[-2:].hex()} on frame {data[:-2].hex(' ')} (expected "
                         f"{add_fcs(data[:-2])[-2:].hex()})")
    return data[:-2]


def parse_frame(data: bytes, *, fcs: bool = True) -> Frame:
    """A received frame (with its FCS unless ``fcs=False``) → :class:`Frame`, or :class:`FrameError`."""
    return Frame.decode(strip_fcs(data) if fcs else data)


# --- bits on the line ------------------------------------------------------------------------------

def octets_to_bits(data: bytes) -> list[int]:
    """Octets → bits in line order, least significant bit first."""
    return [byte >> i & 1 for byte in bytes(data) for i in range(8)]


def bits_to_octets(bits) -> bytes:
    """Bits in line order → octets (LSB first); the length must be a multiple of 8."""
    bits = list(bits)
    if len(bits) % 8:
        raise ValueError(f"{len(bits)} bits is not a whole number of octets")
    return bytes(sum(b << i for i, b in enumerate(bits[k:k + 8])) for k in range(0, len(bits), 8))


def stuff(bits) -> list[int]:
    """Insert a 0 after every run of five 1s (ISO 3309 transparency)."""
    out, ones = [], 0
    for bit in bits:
        out.append(bit)
        ones = ones + 1 if bit else 0
        if ones == 5:
            out.append(0)
            ones = 0
    return out


def unstuff(bits) -> list[int]:
    """Remove the 0 after every five 1s; :class:`FrameError` on six 1s (a flag or abort inside)."""
    out, ones, skip = [], 0, False
    for bit in bits:
        if skip:
            if bit:
                raise FrameError("six consecutive ones inside a frame: a flag or abort, not data")
            skip, ones = False, 0
            continue
        out.append(bit)
        ones = ones + 1 if bit else 0
        if ones == 5:
            skip = True
    return out


def frame_bits(data: bytes, *, with_fcs: bool = True) -> list[int]:
    """One frame on the line, between (not including) its flags: FCS added, stuffed, LSB first."""
    return stuff(octets_to_bits(add_fcs(data) if with_fcs else data))


def encode_signal(frames, *, preamble_flags: int = PREAMBLE_FLAGS) -> bytes:
    """A T.30 signal as line bytes: preamble flags, each frame (FCS added) followed by a flag, then
    flag bits up to an octet boundary. ``frames``: :class:`Frame` objects or raw octets."""
    flag = octets_to_bits(bytes((FLAG,)))
    bits = flag * max(1, preamble_flags)
    for frame in frames:
        raw = frame.encode() if isinstance(frame, Frame) else bytes(frame)
        bits += frame_bits(raw) + flag
    while len(bits) % 8:
        bits.append(1)  # idle ones after the closing flag (fewer than 7: no abort)
    return bits_to_octets(bits)


@dataclass(frozen=True, kw_only=True)
class Deframed:
    """One frame found on the line: its octets including the FCS, and whether it is good."""

    data: bytes
    ok: bool
    reason: str = ""

    @property
    def payload(self) -> bytes:
        return self.data[:-2]

    def frame(self) -> Frame:
        """The parsed frame; :class:`FrameError` if the FCS was bad or the frame is malformed."""
        if not self.ok:
            raise FrameError(self.reason)
        return Frame.decode(self.payload)


class Deframer:
    """Incremental HDLC receiver: line bytes in (LSB first), :class:`Deframed` frames out.

    Bad frames come out with ``ok=False`` and a reason (bad FCS, not a whole number of octets,
    too short, too long, aborted); noise between frames is skipped. State survives between calls,
    so a frame split across any number of :meth:`feed` calls comes out the same.
    """

    def __init__(self):
        self._ones = 0
        self._bits: list[int] = []
        self._hunting = True  # until the first flag, and after an abort or overlong frame

    def feed(self, data: bytes) -> list[Deframed]:
        out: list[Deframed] = []
        for byte in bytes(data):
            for i in range(8):
                self._bit(byte >> i & 1, out)
        return out

    def _bit(self, bit: int, out: list) -> None:
        if bit:
            self._ones += 1
            if self._ones == 7:  # abort (or idle line): drop what we had, wait for a flag
                if not self._hunting and len(self._bits) > 8:
                    out.append(Deframed(data=b"", ok=False, reason="frame aborted (seven ones)"))
                self._bits, self._hunting = [], True
            return
        ones, self._ones = self._ones, 0
        if ones >= 7:
            return
        if ones == 6:  # a flag: the 0 before these ones was the flag's own
            body = self._bits[:-1]
            if not self._hunting and body:
                out.append(self._finish(body))
            self._bits, self._hunting = [], False
            return
        if self._hunting:
            return
        self._bits.extend([1] * ones)
        if ones < 5:
            self._bits.append(0)  # after five ones the 0 was stuffed: drop it
        if len(self._bits) > 8 * MAX_FRAME + 16:
            out.append(Deframed(data=b"", ok=False, reason=f"frame longer than {MAX_FRAME} octets"))
            self._bits, self._hunting = [], True

    @staticmethod
    def _finish(bits: list[int]) -> Deframed:
        if len(bits) % 8:
            return Deframed(data=b"", ok=False, reason=f"frame of {len(bits)} bits is not whole octets")
        data = bits_to_octets(bits)
        if len(data) < 5:
            return Deframed(data=data, ok=False, reason=f"frame of {len(data)} octets is too short")
        if not fcs_ok(data):
            return Deframed(data=data, ok=False, reason=f"bad FCS on frame {data.hex(' ')}")
        return Deframed(data=data, ok=True)


# --- whole ECM partial pages (T.4 Annex A): fast, string-based -----------------------------------------
# A partial page is up to 256 × 262 octets: the bit-list helpers above would take a second per block,
# so blocks go through Python's string machinery (bits as '0'/'1' characters, LSB first).

_BIT_TEXT = tuple(format(b, "08b")[::-1] for b in range(256))
_FLAG_TEXT = _BIT_TEXT[FLAG]
ECM_PREAMBLE_FLAGS = 32     # flags before the first FCD frame (≈18 ms at 14 400 bit/s)


def _bit_text(data: bytes) -> str:
    return "".join(map(_BIT_TEXT.__getitem__, bytes(data)))


def _text_octets(bits: str) -> bytes:
    return int(bits[::-1], 2).to_bytes(len(bits) // 8, "little") if bits else b""


def encode_block(frames, *, preamble_flags: int = ECM_PREAMBLE_FLAGS, closing_flags: int = 2) -> bytes:
    """ECM frames (address, control, FCF, FIF; no FCS) → high-speed line octets, LSB first: flags,
    each frame with its FCS bit-stuffed (ISO 3309) and followed by a flag, closing flags."""
    parts = [_FLAG_TEXT * max(1, preamble_flags)]
    for frame in frames:
        parts.append(_bit_text(add_fcs(frame)).replace("11111", "111110"))
        parts.append(_FLAG_TEXT)
    parts.append(_FLAG_TEXT * closing_flags)
    bits = "".join(parts)
    return _text_octets(bits + "1" * (-len(bits) % 8))


def deframe_block(data: bytes) -> list[Deframed]:
    """High-speed line octets (a received ECM partial page) → the frames between flags, each good
    or bad (FCS, length, abort); fill, idle ones and line noise between frames are skipped."""
    out = []
    for piece in _bit_text(data).split(_FLAG_TEXT)[1:-1]:   # before the first / after the last flag: no frame
        if len(piece) < 32:
            continue   # flags shared or noise: shorter than address + control + FCF + FCS
        if "1111111" in piece:
            out.append(Deframed(data=b"", ok=False, reason="frame aborted (seven ones)"))
            continue
        bits = piece.replace("111110", "11111")
        if len(bits) % 8:
            out.append(Deframed(data=b"", ok=False, reason=f"frame of {len(bits)} bits is not whole octets"))
            continue
        octets = _text_octets(bits)
        ok = fcs_ok(octets)
        out.append(Deframed(data=octets, ok=ok, reason="" if ok else f"bad FCS on a {len(octets)}-octet frame"))
    return out
