"""Class 2 (SP-2388) and Class 2.0 (EIA-592 / ITU-T T.32) facts shared by the driver and the softmodem.

* :class:`Dialect` — the command and report names of each command set (T.32 §8; SP-2388 draft
  names in Class 2): ``+FDCC`` / ``+FCC``, ``+FDIS`` / ``+FIS``, ``+FLID`` / ``+FLI``, ``+FBOR`` /
  ``+FBO``, ``+FK`` / ``+FKS``, reports ``+FCON`` / ``+FCO``, ``+FDCS:`` / ``+FCS:``, ``+FPTS:`` /
  ``+FPS:``, ``+FHNG:`` (decimal) / ``+FHS:`` (hexadecimal).
* :class:`Params` — the T.32 §8.5.1 parameter string ``VR,BR,WD,LN,DF,EC,BF,ST`` (resolution, bit
  rate, width, length, data format, ECM, BFT, scan time) and its link to the T.30 DIS/DCS of
  :mod:`faxpipe.t30.frames`.
* Hang-up codes (T.32 Table 32, SP-2388 +FHNG): :data:`CLASS2_HANGUP` keyed by the *decimal*
  value a Class 2 modem prints, :data:`CLASS20_HANGUP` keyed by the *hexadecimal* value a
  Class 2.0 modem prints ("A1" = 0xA1) — the same meanings, two notations (fax-protocol.md §3.2 #3).
  Both map onto :class:`faxpipe.t30.Completion`, hence onto the API's delivery errors.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from faxpipe.page import Resolution
from faxpipe.t30.completion import Completion
from faxpipe.t30.frames import DCS, DIS, Length, Modems, Rate, Width

# --- the two command sets ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Dialect:
    """Command and report names of one command set."""

    name: str          # "2" or "2.0"
    caps: str          # DCE capabilities
    session: str       # current session parameters
    local_id: str
    bit_order: str
    terminate: str     # session termination
    page_status: str   # +FPTS (Class 2 report and command) / +FPS
    connect: str       # connection report
    remote_caps: str   # report of the remote DIS
    negotiated: str    # report of the DCS
    hangup: str        # hang-up report
    remote_csi: str
    remote_tsi: str
    hex_hangup: bool   # hang-up codes printed in hexadecimal

    def format_hangup(self, code: int) -> str:
        return f"{self.hangup}:{code:02X}" if self.hex_hangup else f"{self.hangup}:{code}"

    def parse_hangup(self, text: str) -> int:
        """The code of a ``+FHNG:52`` / ``+FHS:A1`` line (ValueError if it is not one)."""
        head, _, value = text.partition(":")
        if head.strip().upper() != self.hangup:
            raise ValueError(f"not a {self.hangup} report: {text!r}")
        return int(value.strip(), 16 if self.hex_hangup else 10)


CLASS2 = Dialect(name="2", caps="+FDCC", session="+FDIS", local_id="+FLID", bit_order="+FBOR",
                 terminate="+FK", page_status="+FPTS", connect="+FCON", remote_caps="+FDIS",
                 negotiated="+FDCS", hangup="+FHNG", remote_csi="+FCSI", remote_tsi="+FTSI", hex_hangup=False)
CLASS20 = Dialect(name="2.0", caps="+FCC", session="+FIS", local_id="+FLI", bit_order="+FBO",
                  terminate="+FKS", page_status="+FPS", connect="+FCO", remote_caps="+FIS",
                  negotiated="+FCS", hangup="+FHS", remote_csi="+FCI", remote_tsi="+FTI", hex_hangup=True)
DIALECTS = {"2": CLASS2, "2.0": CLASS20}

#: +FET / post-page message codes (T.32 §8.3.3): 0 MPS, 1 EOM, 2 EOP (3-5 the PRI- forms).
FET_FOLLOWING = {0: "page", 1: "document", 2: "end", 3: "page", 4: "document", 5: "end"}
FOLLOWING_FET = {"page": 0, "document": 1, "end": 2}
#: Class 2.0 page ends in the data stream (T.32 §8.3.3; HylaFAX Class20.c++, efax end_data).
PAGE_END_DLE = {b",": "page", b";": "document", b".": "end"}
FOLLOWING_DLE = {v: k for k, v in PAGE_END_DLE.items()}
#: +FPTS / +FPS page transfer status (T.32 §8.4.2): 1 MCF, 2 RTN, 3 RTP, 4 PIN, 5 PIP.
PPR = {1: "MCF", 2: "RTN", 3: "RTP", 4: "PIN", 5: "PIP"}
PPR_CODE = {v: k for k, v in PPR.items()}

# --- VR,BR,WD,LN,DF,EC,BF,ST (T.32 §8.5.1 Table 21) ------------------------------------------------

BR_RATES = {0: 2400, 1: 4800, 2: 7200, 3: 9600, 4: 12000, 5: 14400}
#: BR code → the T.30 modems a DIS offers for it (fastest of each family included).
BR_MODEMS = {0: Modems.V27TER_FALLBACK, 1: Modems.V27TER, 2: Modems.V27TER_V29, 3: Modems.V27TER_V29,
             4: Modems.V27TER_V29_V17, 5: Modems.V27TER_V29_V17}
WD_WIDTHS = {0: Width.A4, 1: Width.B4, 2: Width.A3}
LN_LENGTHS = {0: Length.A4, 1: Length.B4, 2: Length.UNLIMITED}
DF_CODINGS = {0: "mh", 1: "mr", 3: "mmr"}
#: ST code → minimum scan-line time in ms at (standard, fine) (T.32 Table 21).
ST_TIMES = {0: (0, 0), 1: (5, 5), 2: (10, 5), 3: (10, 10), 4: (20, 10), 5: (20, 20), 6: (40, 20), 7: (40, 40)}
#: ST code ↔ the DIS bits 21-23 code with the same times (T.30 Table 2; frames.DIS_SCAN_TIMES).
ST_DIS = {0: 7, 1: 1, 2: 6, 3: 2, 4: 3, 5: 0, 6: 5, 7: 4}
DIS_ST = {v: k for k, v in ST_DIS.items()}
DCS_MS_ST = {0: 0, 5: 1, 10: 3, 20: 5, 40: 7}
RANGES = "(0,1),(0-5),(0-2),(0-2),(0,1),(0),(0),(0-7)"


@dataclass(frozen=True)
class Params:
    """One ``VR,BR,WD,LN,DF,EC,BF,ST`` set: capabilities, session parameters or a negotiated DCS."""

    vr: int = 1
    br: int = 5
    wd: int = 0
    ln: int = 2
    df: int = 1
    ec: int = 0
    bf: int = 0
    st: int = 0

    FIELDS = ("vr", "br", "wd", "ln", "df", "ec", "bf", "st")
    LIMITS = {"vr": 1, "br": 5, "wd": 2, "ln": 2, "df": 3, "ec": 2, "bf": 1, "st": 7}

    def __post_init__(self):
        for name in self.FIELDS:
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= self.LIMITS[name]:
                raise ValueError(f"{name.upper()}={value!r} out of range 0-{self.LIMITS[name]}")

    def __str__(self) -> str:
        return ",".join(str(getattr(self, n)) for n in self.FIELDS)

    def update(self, text: str) -> "Params":
        """``+FCC=1,5,,2`` style: values given replace, empty ones keep (T.32 §8.5.1)."""
        text = text.strip()
        if text.startswith(("+", "(")) or ":" in text:
            text = text.split(":", 1)[-1]
        values = [v.strip() for v in text.split(",")]
        if len(values) > 10:
            raise ValueError(f"too many values in {text!r}")
        changes = {}
        for name, value in zip(self.FIELDS, values):
            if value:
                if not value.isdigit():
                    raise ValueError(f"{name.upper()} value {value!r} is not a number")
                changes[name] = int(value)
        return replace(self, **changes)

    @classmethod
    def parse(cls, text: str) -> "Params":
        return cls().update(text)

    # -- T.30 ------------------------------------------------------------------------------------
    @property
    def resolution(self) -> Resolution:
        return Resolution.FINE if self.vr else Resolution.STANDARD

    @property
    def coding(self) -> str:
        return DF_CODINGS.get(self.df, "mh")

    @property
    def width(self) -> int:
        return WD_WIDTHS[self.wd].pels

    @property
    def bps(self) -> int:
        return BR_RATES[self.br]

    def dis(self, *, ready_to_receive: bool = True) -> DIS:
        """The DIS a station with these capabilities sends (ECM and T.6 are not offered)."""
        return DIS(ready_to_receive=ready_to_receive, modems=BR_MODEMS[self.br], fine=bool(self.vr),
                   two_d=self.df in (1, 3), width=WD_WIDTHS[self.wd], length=LN_LENGTHS[self.ln],
                   min_scan_code=ST_DIS[self.st])

    @classmethod
    def from_dis(cls, dis: DIS) -> "Params":
        fastest = max(dis.rates, key=lambda r: r.bps)
        br = next(code for code, bps in BR_RATES.items() if bps == fastest.bps)
        return cls(vr=int(dis.fine), br=br, wd=[w for w in Width].index(dis.width),
                   ln=[Length.A4, Length.B4, Length.UNLIMITED].index(dis.length), df=int(dis.two_d),
                   ec=0, bf=0, st=DIS_ST[dis.min_scan_code])

    @classmethod
    def from_dcs(cls, dcs: DCS) -> "Params":
        br = next(code for code, bps in BR_RATES.items() if bps == dcs.rate.bps)
        return cls(vr=int(dcs.resolution is not Resolution.STANDARD), br=br, wd=[w for w in Width].index(dcs.width),
                   ln=[Length.A4, Length.B4, Length.UNLIMITED].index(dcs.length),
                   df={"mh": 0, "mr": 1, "mmr": 3}[dcs.coding], ec=int(dcs.ecm) and 2, bf=0,
                   st=DCS_MS_ST.get(dcs.min_scan_ms, 0))

    def min_bits(self) -> int:
        """Minimum bits per coded line for a page sent with these negotiated parameters."""
        std, fine = ST_TIMES[self.st]
        return self.bps * (fine if self.vr else std) // 1000


def rate_of(params: Params) -> Rate:
    """The fastest T.30 rate with the bit/s of ``params.br``."""
    return max((r for r in Rate if r.bps == params.bps), key=lambda r: r.modem == "V.17")


# --- hang-up codes (T.32 Table 32; SP-2388 +FHNG) ---------------------------------------------------

_C = Completion
#: Class 2: ``+FHNG:<decimal>``.
CLASS2_HANGUP: dict[int, tuple[Completion, str]] = {
    0: (_C.OK, "normal and proper end of connection"),
    1: (_C.T1_EXPIRED, "ring detect without successful handshake"),
    2: (_C.CANCELLED, "call aborted, from +FK or CAN"),
    3: (_C.LINE_DROPPED, "no loop current"),
    4: (_C.NO_ANSWER, "ringback detected, no answer"),
    5: (_C.T1_EXPIRED, "ringback detected, answer without CED"),
    10: (_C.NO_CARRIER, "unspecified phase A error"),
    11: (_C.T1_EXPIRED, "no answer (T.30 T1 timeout)"),
    20: (_C.LINE_DROPPED, "unspecified transmit phase B error"),
    21: (_C.INCOMPATIBLE, "remote cannot receive or send"),
    22: (_C.REMOTE_DCN, "COMREC error in transmit phase B"),
    23: (_C.PROTOCOL_ERROR, "COMREC invalid command received"),
    24: (_C.PROTOCOL_ERROR, "RSPREC error"),
    25: (_C.NO_RESPONSE, "DCS sent three times without response"),
    26: (_C.INCOMPATIBLE, "DIS/DTC received 3 times; DCS not recognized"),
    27: (_C.TRAINING_FAILED, "failure to train at 2400 bps or +FMINSP value"),
    28: (_C.PROTOCOL_ERROR, "RSPREC invalid response received"),
    40: (_C.LINE_DROPPED, "unspecified transmit phase C error"),
    41: (_C.PROTOCOL_ERROR, "unspecified image format error"),
    42: (_C.PROTOCOL_ERROR, "image conversion error"),
    43: (_C.CANCELLED, "DTE to DCE data underflow"),
    44: (_C.PROTOCOL_ERROR, "unrecognized transparent data command"),
    45: (_C.PROTOCOL_ERROR, "image error, line length wrong"),
    46: (_C.PROTOCOL_ERROR, "image error, page length wrong"),
    47: (_C.PROTOCOL_ERROR, "image error, wrong compression code"),
    50: (_C.LINE_DROPPED, "unspecified transmit phase D error"),
    51: (_C.REMOTE_DCN, "RSPREC error"),
    52: (_C.NO_PPM_RESPONSE, "no response to MPS repeated 3 times"),
    53: (_C.PROTOCOL_ERROR, "invalid response to MPS"),
    54: (_C.NO_PPM_RESPONSE, "no response to EOP repeated 3 times"),
    55: (_C.PROTOCOL_ERROR, "invalid response to EOP"),
    56: (_C.NO_PPM_RESPONSE, "no response to EOM repeated 3 times"),
    57: (_C.PROTOCOL_ERROR, "invalid response to EOM"),
    58: (_C.PROCEDURE_INTERRUPT, "unable to continue after PIN or PIP"),
    70: (_C.LINE_DROPPED, "unspecified receive phase B error"),
    71: (_C.PROTOCOL_ERROR, "RSPREC error"),
    72: (_C.PROTOCOL_ERROR, "COMREC error"),
    73: (_C.T2_EXPIRED, "T.30 T2 timeout, expected page not received"),
    74: (_C.T1_EXPIRED, "T.30 T1 timeout after EOM received"),
    90: (_C.LINE_DROPPED, "unspecified receive phase C error"),
    91: (_C.T2_EXPIRED, "missing EOL after 5 seconds"),
    93: (_C.PROTOCOL_ERROR, "DCE to DTE buffer overflow"),
    94: (_C.PROTOCOL_ERROR, "bad CRC or frame (ECM or BFT modes)"),
    100: (_C.LINE_DROPPED, "unspecified receive phase D error"),
    101: (_C.PROTOCOL_ERROR, "RSPREC invalid response received"),
    102: (_C.PROTOCOL_ERROR, "COMREC invalid response received"),
    103: (_C.PROCEDURE_INTERRUPT, "unable to continue after PIN or PIP"),
}

#: Class 2.0: ``+FHS:<hexadecimal>`` — the same meanings; the receive phase D codes are A0-A3.
CLASS20_HANGUP: dict[int, tuple[Completion, str]] = {
    0x00: CLASS2_HANGUP[0], 0x01: CLASS2_HANGUP[1], 0x02: CLASS2_HANGUP[2], 0x03: CLASS2_HANGUP[3],
    0x04: CLASS2_HANGUP[4], 0x05: CLASS2_HANGUP[5], 0x10: CLASS2_HANGUP[10], 0x11: CLASS2_HANGUP[11],
    0x20: CLASS2_HANGUP[20], 0x21: CLASS2_HANGUP[21], 0x22: CLASS2_HANGUP[22], 0x23: CLASS2_HANGUP[23],
    0x24: CLASS2_HANGUP[24], 0x25: CLASS2_HANGUP[25], 0x26: CLASS2_HANGUP[26], 0x27: CLASS2_HANGUP[27],
    0x28: CLASS2_HANGUP[28], 0x40: CLASS2_HANGUP[40], 0x41: CLASS2_HANGUP[41], 0x42: CLASS2_HANGUP[42],
    0x43: CLASS2_HANGUP[43], 0x44: CLASS2_HANGUP[44], 0x45: CLASS2_HANGUP[45], 0x46: CLASS2_HANGUP[46],
    0x47: CLASS2_HANGUP[47], 0x50: CLASS2_HANGUP[50], 0x51: CLASS2_HANGUP[51], 0x52: CLASS2_HANGUP[52],
    0x53: CLASS2_HANGUP[53], 0x54: CLASS2_HANGUP[54], 0x55: CLASS2_HANGUP[55], 0x56: CLASS2_HANGUP[56],
    0x57: CLASS2_HANGUP[57], 0x58: CLASS2_HANGUP[58], 0x70: CLASS2_HANGUP[70], 0x71: CLASS2_HANGUP[71],
    0x72: CLASS2_HANGUP[72], 0x73: CLASS2_HANGUP[73], 0x74: CLASS2_HANGUP[74], 0x90: CLASS2_HANGUP[90],
    0x91: CLASS2_HANGUP[91], 0x93: CLASS2_HANGUP[93], 0x94: CLASS2_HANGUP[94],
    0xA0: CLASS2_HANGUP[100], 0xA1: CLASS2_HANGUP[101], 0xA2: CLASS2_HANGUP[102], 0xA3: CLASS2_HANGUP[103],
}
HANGUP_TABLES = {"2": CLASS2_HANGUP, "2.0": CLASS20_HANGUP}


def hangup_completion(dialect: Dialect, code: int) -> tuple[Completion, str]:
    """(completion, meaning) of a hang-up code in a dialect; unknown codes by their range."""
    table = HANGUP_TABLES[dialect.name]
    if code in table:
        return table[code]
    decimal = code if not dialect.hex_hangup else (100 + code - 0xA0 if code >= 0xA0 else int(f"{code:X}"))
    if decimal < 10:
        return Completion.PROTOCOL_ERROR, f"call placement code {code}"
    if decimal < 20:
        return Completion.NO_CARRIER, f"phase A code {code}"
    return Completion.PROTOCOL_ERROR, f"reserved or vendor code {dialect.format_hangup(code)}"


def class2_code(decimal: int, dialect: Dialect) -> int:
    """The value a modem of ``dialect`` prints for the SP-2388 decimal code (52 → 0x52, 101 → 0xA1)."""
    if not dialect.hex_hangup:
        return decimal
    return 0xA0 + decimal - 100 if decimal >= 100 else int(str(decimal), 16)
