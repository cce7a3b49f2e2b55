"""drivers.probe — what a fax modem is and can do, asked over any pyserial port (a serial device, a
pty, a ``softmodem://`` URL), the job of HylaFAX's ``probemodem`` done by a program.

Purpose
    :func:`probe` sends a fixed series of commands, each with its own deadline, and returns a
    :class:`ProbeReport`: identity (``ATI0``-``ATI9``, ``+GMI`` / ``+GMM`` / ``+GMR``, ``+FMI?`` /
    ``+FMM?`` / ``+FMR?``, Class 2 ``+FMFR?`` / ``+FMDL?`` / ``+FREV?``), fax classes
    (``+FCLASS=?``), Class 1 modulations (``+FTM=?`` / ``+FRM=?`` / ``+FTH=?`` / ``+FRH=?``, T.31
    §8.3 codes named through :class:`faxpipe.t30.frames.Rate`), Class 2 / 2.0 capabilities
    (``+FDCC=?`` / ``+FCC=?``: the ``VR,BR,WD,LN,DF,EC,BF,ST`` ranges of T.32 §8.5.1 Table 21
    decoded here, with the value tables of :mod:`drivers.class2params`), flow control (``+FLO``,
    ``+IFC``, the port's CTS) and bit order (``+FBOR`` / ``+FBO``; Class 1 data is LSB first by
    definition, T.31 §8.5). :meth:`ProbeReport.config_entry` is the ``[[modem]]`` table of
    :mod:`faxpipe.jobs.config` for the modem pool.

Verdicts (:attr:`ProbeReport.verdict`)
    ``fax-modem``     answers AT and lists at least one fax class faxpipe drives (1, 2, 2.0)
    ``no-fax``        a modem (AT → OK) without a fax class faxpipe drives
    ``echo``          sends back what it is sent and never a result code (a loopback, a terminal)
    ``silent``        nothing at all within the deadline (switched off, wrong port, wrong speed)
    ``garbage``       bytes that are not AT responses (wrong speed, or a device of another kind)
    ``not-a-modem``   text that is not a result code (a console, a GPS …)
    ``unopenable``    the port cannot be opened (:func:`probe_device`)
    ``stopped``       answered at first, then stopped answering in the middle of the probe

Nothing here waits without a deadline: the first contact takes at most ``2 × timeout`` seconds
before a verdict, every later command ``timeout`` seconds, and :data:`MAX_SILENT` unanswered
commands in a row end the probe.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field

from drivers.at import ATChannel, Transcript, result_name
from drivers.class2params import BR_RATES, DF_CODINGS, ST_TIMES
from faxpipe.errors import ModemError
from faxpipe.t30.frames import Rate

PROBE_TIMEOUT = 2.0     # seconds per command
MAX_SILENT = 3          # unanswered commands in a row before the probe gives up
VERDICTS = ("fax-modem", "no-fax", "echo", "silent", "garbage", "not-a-modem", "unopenable", "stopped")
FAX_CLASSES = ("1", "2", "2.0")
POOL_RATES = (2400, 4800, 7200, 9600, 12000, 14400)   # faxpipe.jobs.config.RATES

# --- Class 1 modulations (T.31 §8.3.1 Table 1 / fax-protocol.md §4.4) --------------------------------

MODULATIONS: dict[int, tuple[str, int, str]] = {3: ("V.21", 300, "")}
for _rate in Rate:
    MODULATIONS[_rate.long_code] = (_rate.modem, _rate.bps, "" if _rate.long_code == _rate.short_code else "long")
    if _rate.short_code != _rate.long_code:
        MODULATIONS[_rate.short_code] = (_rate.modem, _rate.bps, "short")
del _rate


def parse_numbers(text: str) -> list[int]:
    """``24,48,72-74,(96)`` → [24, 48, 72, 73, 74, 96] (T.31 / V.250 range lists), sorted, unique."""
    out: set[int] = set()
    for part in re.split(r"[,\s()]+", text):
        lo, dash, hi = part.partition("-")
        if dash and lo.isdigit() and hi.isdigit() and int(hi) - int(lo) < 256:
            out.update(range(int(lo), int(hi) + 1))
        elif part.isdigit():
            out.add(int(part))
    return sorted(out)


def modulation_name(code: int) -> str:
    """``146`` → ``V.17 14400 short``; unknown codes stay numbers."""
    if code not in MODULATIONS:
        return f"code {code}"
    modem, bps, training = MODULATIONS[code]
    return " ".join(p for p in (modem, str(bps), training) if p)


def summarise_modulations(codes) -> list[str]:
    """Codes → one entry per modem: ``V.27ter 2400/4800``, ``V.29 7200/9600``, ``V.17 7200-14400``."""
    rates: dict[str, set[int]] = {}
    for code in codes:
        if code in MODULATIONS:
            modem, bps, _ = MODULATIONS[code]
            rates.setdefault(modem, set()).add(bps)
    out = []
    for modem in ("V.21", "V.27ter", "V.29", "V.17"):
        if modem in rates:
            bps = sorted(rates[modem])
            out.append(f"{modem} {'/'.join(map(str, bps)) if len(bps) < 3 else f'{bps[0]}-{bps[-1]}'}")
    return out


# --- Class 2 / 2.0 capability ranges (T.32 §8.5.1 Table 21; SP-2388 +FDCC) -------------------------

CLASS2_FIELDS = ("VR", "BR", "WD", "LN", "DF", "EC", "BF", "ST")
VR_NAMES = {0: "standard 98 lpi", 1: "fine 196 lpi"}
#: T.32 VR as a bit map (a range reaching past 1): bit → resolution.
VR_BITS = {0: "fine 196 lpi", 1: "superfine 391 lpi", 2: "R16 x 15.4", 3: "200x100 dpi", 4: "200x200 dpi",
           5: "200x400 dpi", 6: "300x300 dpi"}
BR_EXTRA = {6: 16800, 7: 19200, 8: 21600, 9: 24000, 10: 26400, 11: 28800, 12: 31200, 13: 33600}
WD_NAMES = {0: "1728 (A4)", 1: "2048 (B4)", 2: "2432 (A3)", 3: "1216", 4: "864"}
LN_NAMES = {0: "A4", 1: "B4", 2: "unlimited"}
DF_NAMES = {0: "MH", 1: "MR", 2: "uncompressed", 3: "MMR (T.6)", 4: "JBIG", 5: "JBIG L0"}
EC_NAMES = {0: "none", 1: "ECM 64-octet frames", 2: "ECM 256-octet frames"}
BF_NAMES = {0: "none", 1: "BFT"}


def parse_ranges(text: str) -> list[list[int]]:
    """``(0,1),(0-5),(0-2),(0-2),(0,1),(0),(0),(0-7)`` → one sorted value list per field.

    Parenthesised groups are fields; without parentheses each comma item is one field
    (``1,5,0,2,0,0,0,0`` — a modem that prints its current values instead of ranges). A T.32 hex
    bit map such as ``(0-7F)`` is read as hexadecimal."""
    text = text.strip()
    if ":" in text and text.startswith("+"):
        text = text.split(":", 1)[1]
    groups = re.findall(r"\(([^)]*)\)", text) if "(" in text else [g for g in text.split(",")]
    fields = []
    for group in groups:
        values: set[int] = set()
        for item in group.split(","):
            item = item.strip()
            lo, dash, hi = item.partition("-")
            try:
                base = 16 if re.search(r"[A-Fa-f]", item) else 10
                if dash:
                    a, b = int(lo, base), int(hi, base)
                    if 0 <= a <= b and b - a < 256:
                        values.update(range(a, b + 1))
                elif item:
                    values.add(int(item, base))
            except ValueError:
                continue
        fields.append(sorted(values))
    return fields


def _names(values, table) -> list[str]:
    return [table.get(v, f"code {v}") for v in values]


def decode_class2(text: str) -> dict:
    """``+FCC=?`` / ``+FDCC=?`` text → resolutions, rates, widths, lengths, codings, ECM, BFT, scan times."""
    fields = parse_ranges(text) + [[]] * 8
    vr, br, wd, ln, df, ec, bf, st = fields[:8]
    if vr and max(vr) > 1:   # T.32 bit map: bit 0 fine, bit 1 superfine …; standard always
        resolutions = ["standard 98 lpi"] + [name for bit, name in VR_BITS.items() if (1 << bit) <= max(vr)]
    else:
        resolutions = _names(vr, VR_NAMES)
    rates = [BR_RATES.get(v) or BR_EXTRA.get(v) for v in br if v in BR_RATES or v in BR_EXTRA]
    return {
        "raw": text,
        "resolutions": resolutions,
        "rates": rates,
        "max_rate": max(rates) if rates else 0,
        "widths": _names(wd, WD_NAMES),
        "lengths": _names(ln, LN_NAMES),
        "codings": _names(df, DF_NAMES),
        "ecm": [EC_NAMES.get(v, f"code {v}") for v in ec],
        "ecm_capable": any(v > 0 for v in ec),
        "bft": any(v > 0 for v in bf),
        "scan_times": [f"{ST_TIMES[v][0]}/{ST_TIMES[v][1]} ms" for v in st if v in ST_TIMES],
        "faxpipe_codings": [DF_CODINGS[v] for v in df if v in DF_CODINGS],
    }


# --- the report ----------------------------------------------------------------------------------------

@dataclass
class ProbeReport:
    """What a probe found (see the module docstring for the verdicts)."""

    device: str
    verdict: str = "silent"
    detail: str = ""
    echo: bool = False                                   # command echo was on when we came
    identity: dict[str, str] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)    # +FCLASS=? as listed
    current_class: str = ""
    class1: dict = field(default_factory=dict)          # tx / rx / tx_hdlc / rx_hdlc codes and names
    class2: dict = field(default_factory=dict)          # "2" / "2.0" → decode_class2(...) + bit order
    flow: dict = field(default_factory=dict)
    bit_order: dict = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)
    seconds: float = 0.0
    transcript: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict == "fax-modem"

    @property
    def fax_classes(self) -> list[str]:
        return [c for c in FAX_CLASSES if c in self.classes]

    def best_class(self) -> str | None:
        """Class 1 first (faxpipe runs T.30 itself), then 2.0, then 2 (drivers.class2.choose_class)."""
        for candidate in ("1", "2.0", "2"):
            if candidate in self.classes:
                return candidate
        return None

    def max_rate(self, fax_class: str | None = None) -> int:
        fax_class = fax_class or self.best_class()
        if fax_class == "1":
            rates = [MODULATIONS[c][1] for c in self.class1.get("tx", []) if c in MODULATIONS and c != 3]
        else:
            rates = self.class2.get(fax_class or "", {}).get("rates", [])
        usable = [r for r in rates if r in POOL_RATES]
        return max(usable) if usable else 14400

    def config_entry(self, name: str = "modem1", station_id: str = "") -> str:
        """The ``[[modem]]`` table for faxpipe's modem pool (faxpipe/jobs/config.py)."""
        fax_class = self.best_class()
        if fax_class is None:
            return f"# {self.device}: no fax class faxpipe can drive ({self.verdict}); no [[modem]] entry"
        # Class 1: faxpipe runs ECM itself (T.30 Annex A, drivers.class1_ecm) over any modem;
        # Class 2 / 2.0: only if the modem's firmware offers it (+FCC EC > 0)
        ecm = fax_class == "1" or bool(self.class2.get(fax_class, {}).get("ecm_capable"))
        return "\n".join([
            "[[modem]]",
            f"name = {json.dumps(name)}",
            f"device = {json.dumps(self.device)}",
            f"class = {json.dumps(fax_class)}",
            f"station_id = {json.dumps(station_id)}",
            f"max_rate = {self.max_rate(fax_class)}",
            f"ecm = {'true' if ecm else 'false'}",
        ])

    def to_dict(self) -> dict:
        out = asdict(self)
        out["ok"] = self.ok
        out["best_class"] = self.best_class()
        out["config"] = self.config_entry()
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def rows(self) -> list[tuple[str, str]]:
        """(item, value) rows of the printed table."""
        rows = [("device", self.device), ("verdict", f"{self.verdict}: {self.detail}" if self.detail else self.verdict)]
        for key, value in self.identity.items():
            rows.append((key, value))
        if self.classes:
            rows.append(("fax classes", ",".join(self.classes) + (f" (now {self.current_class})"
                                                                  if self.current_class else "")))
        if self.class1:
            rows.append(("class 1 transmit", ", ".join(self.class1.get("tx_summary", [])) or "-"))
            rows.append(("class 1 receive", ", ".join(self.class1.get("rx_summary", [])) or "-"))
            rows.append(("class 1 HDLC", f"+FTH {','.join(map(str, self.class1.get('tx_hdlc', [])))} "
                                         f"+FRH {','.join(map(str, self.class1.get('rx_hdlc', [])))}"))
        for cls, caps in self.class2.items():
            rows.append((f"class {cls} rates", "/".join(map(str, caps["rates"])) or "-"))
            rows.append((f"class {cls} resolutions", ", ".join(caps["resolutions"]) or "-"))
            rows.append((f"class {cls} widths", ", ".join(caps["widths"]) or "-"))
            rows.append((f"class {cls} lengths", ", ".join(caps["lengths"]) or "-"))
            rows.append((f"class {cls} codings", ", ".join(caps["codings"]) or "-"))
            rows.append((f"class {cls} ECM", ", ".join(caps["ecm"]) or "-"))
            rows.append((f"class {cls} scan times", ", ".join(caps["scan_times"]) or "-"))
        for key, value in self.flow.items():
            rows.append((f"flow {key}", str(value)))
        for key, value in self.bit_order.items():
            rows.append((f"bit order {key}", str(value)))
        if self.unanswered:
            rows.append(("unanswered", ", ".join(self.unanswered)))
        rows.append(("probe time", f"{self.seconds:.1f} s"))
        if self.transcript:
            rows.append(("transcript", self.transcript))
        return rows

    def table(self) -> str:
        rows = self.rows()
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


class _Stopped(Exception):
    """The device stopped answering in the middle of the probe."""


class Prober:
    """One probe over an open :class:`~drivers.at.ATChannel` (the port stays the caller's)."""

    def __init__(self, channel: ATChannel, device: str = "", *, timeout: float = PROBE_TIMEOUT):
        self.ch = channel
        self.timeout = timeout
        self.report = ProbeReport(device=device)
        self._silent = 0

    # -- the commands -------------------------------------------------------------------------------
    def ask(self, command: str) -> list[str] | None:
        """The information lines of ``command`` when it answers OK; None on ERROR or no answer."""
        try:
            response = self.ch.command(command, timeout=self.timeout)
        except ModemError as exc:
            if not exc.reason.startswith("no final result code"):
                raise
            self.report.unanswered.append(command)
            self._silent += 1
            if self._silent >= MAX_SILENT:
                raise _Stopped(f"{MAX_SILENT} commands in a row unanswered (last {command})") from None
            return None
        self._silent = 0
        return response.lines if response.ok else None

    def text(self, command: str) -> str | None:
        lines = self.ask(command)
        return None if lines is None else " / ".join(lines)

    # -- first contact ------------------------------------------------------------------------------
    def contact(self) -> bool:
        """``AT`` twice at most: sets the verdict and returns False for anything but a modem."""
        ch, report = self.ch, self.report
        ch.drain(0.1)
        heard: list[str] = []
        junk = b""
        for attempt in range(2):
            ch.transcript.tx("AT")
            ch.write(b"AT\r")
            deadline = time.monotonic() + self.timeout
            try:
                while True:
                    line = ch.read_line(deadline)
                    if line is None:
                        break
                    heard.append(line)
                    name = result_name(line, numeric=True)
                    if name in ("OK", "ERROR"):
                        ch.numeric = line.strip().isdigit()
                        report.echo = any(h.upper() == "AT" for h in heard)
                        if name == "OK":
                            return True
                        break   # ERROR to a bare AT: half a line was pending; once more
            except ModemError as exc:
                report.verdict, report.detail = "garbage", exc.reason
                return False
            junk += ch.drain(0.2)   # what came without a line end
        if junk and not heard:
            printable = all(0x20 <= b < 0x7F or b in (0x09, 0x0D, 0x0A) for b in junk)
            report.verdict = "not-a-modem" if printable else "garbage"
            report.detail = (f"{len(junk)} bytes without a result code ({junk[:24].hex(' ')}…): "
                             + ("text, but not AT responses" if printable else
                                "not AT responses: wrong speed or parity, or not a modem"))
            return False
        if not heard:
            report.verdict = "silent"
            report.detail = (f"no answer to AT within {self.timeout:g} s (twice): no modem on this port, "
                             "switched off, or another speed")
        elif all(h.upper() == "AT" for h in heard):
            report.verdict = "echo"
            report.detail = ("the device sends back what it is sent and never a result code: a loopback, "
                             "a terminal or a console, not a modem")
        else:
            report.verdict = "not-a-modem"
            report.detail = f"it answered {' | '.join(heard[:3])!r} but never OK: not an AT modem"
        return False

    # -- the probe ----------------------------------------------------------------------------------
    def run(self) -> ProbeReport:
        start = time.monotonic()
        report = self.report
        try:
            if self.contact():
                if self.ask("ATE0V1Q0") is None:
                    self.ask("ATE0")
                    self.ask("ATV1")
                self.ch.numeric = False
                self._identify()
                self._classes()
                self._verdict()
        except _Stopped as exc:
            report.verdict, report.detail = "stopped", f"the modem stopped answering: {exc}"
        except ModemError as exc:
            report.verdict, report.detail = "garbage", exc.reason
        report.seconds = time.monotonic() - start
        self.ch.transcript.note(f"probe verdict: {report.verdict} {report.detail}".rstrip())
        return report

    def _identify(self) -> None:
        ident = self.report.identity
        for n in range(10):
            lines = self.ask(f"ATI{n}")
            if lines == []:
                # ATI2 is often a ROM check answering "OK" as information, then OK: that first
                # "OK" ended the response; the second must not answer the next command
                self.ch.drain(0.1)
            elif lines:
                ident[f"ATI{n}"] = " / ".join(lines)
        for command in ("AT+GMI", "AT+GMM", "AT+GMR", "AT+FMI?", "AT+FMM?", "AT+FMR?"):
            value = self.text(command)
            if value:
                ident[command[2:].rstrip("?")] = value

    def _classes(self) -> None:
        report = self.report
        current = self.text("AT+FCLASS?")
        report.current_class = (current or "").strip()
        listed = self.text("AT+FCLASS=?")
        if listed is None:
            return
        classes = []
        for item in re.split(r"[,\s()]+", listed):
            lo, dash, hi = item.partition("-")
            if dash and lo.isdigit() and hi.isdigit():
                classes += [str(v) for v in range(int(lo), int(hi) + 1)]
            elif item:
                classes.append(item)
        if "1.0" in classes and "1" not in classes:   # T.31 Amendment name of Class 1 (spandsp: 0,1,1.0)
            classes.append("1")
        report.classes = list(dict.fromkeys(classes))
        if "1" in report.classes and self.ask("AT+FCLASS=1") is not None:
            self._class1()
        for cls in ("2", "2.0"):
            if cls in report.classes and self.ask(f"AT+FCLASS={cls}") is not None:
                self._class2(cls)
        self._flow()
        self.ask(f"AT+FCLASS={report.current_class if report.current_class in report.classes else 0}")

    def _class1(self) -> None:
        c1 = {}
        for key, command in (("tx", "AT+FTM=?"), ("rx", "AT+FRM=?"), ("tx_hdlc", "AT+FTH=?"), ("rx_hdlc", "AT+FRH=?")):
            value = self.text(command)
            c1[key] = parse_numbers(value) if value else []
        c1["tx_names"] = [modulation_name(c) for c in c1["tx"]]
        c1["rx_names"] = [modulation_name(c) for c in c1["rx"]]
        c1["tx_summary"] = summarise_modulations(c1["tx"])
        c1["rx_summary"] = summarise_modulations(c1["rx"])
        c1["max_tx_rate"] = max((MODULATIONS[c][1] for c in c1["tx"] if c in MODULATIONS), default=0)
        c1["max_rx_rate"] = max((MODULATIONS[c][1] for c in c1["rx"] if c in MODULATIONS), default=0)
        self.report.class1 = c1
        self.report.bit_order["1"] = "LSB first, fixed (T.31 §8.5: HDLC and image octets)"

    def _class2(self, cls: str) -> None:
        caps_cmd, bo_cmd = ("AT+FDCC=?", "AT+FBOR") if cls == "2" else ("AT+FCC=?", "AT+FBO")
        caps = self.text(caps_cmd)
        if caps is None:
            self.report.class2[cls] = decode_class2("")
            return
        self.report.class2[cls] = decode_class2(caps)
        order = self.text(bo_cmd + "=?")
        now = self.text(bo_cmd + "?")
        if order is not None:
            values = parse_numbers(order)
            self.report.bit_order[cls] = (f"{bo_cmd[2:]}={order}" + (f", now {now}" if now else "")
                                          + ("; reversible" if max(values, default=0) >= 1 else "; direct only"))
        ident = self.report.identity
        names = ("+FMFR?", "+FMDL?", "+FREV?") if cls == "2" else ("+FMI?", "+FMM?", "+FMR?")
        for command in names:
            key = command.rstrip("?")
            if key not in ident:
                value = self.text("AT" + command)
                if value:
                    ident[key] = value

    def _flow(self) -> None:
        flow = self.report.flow
        flo = self.text("AT+FLO=?")
        if flo is not None:
            values = parse_numbers(flo)
            flow["+FLO"] = flo + " (" + ", ".join({0: "none", 1: "XON/XOFF", 2: "RTS/CTS"}.get(v, str(v))
                                                  for v in values) + ")"
        ifc = self.text("AT+IFC=?")
        if ifc:
            flow["+IFC"] = ifc
        cts = self.ch.line("cts")
        flow["port CTS"] = "not readable (a pty or a URL)" if cts is None else ("on" if cts else "off")
        flow["use"] = "rtscts" if cts else "xonxoff"

    def _verdict(self) -> None:
        report = self.report
        fax = report.fax_classes
        if fax:
            report.verdict = "fax-modem"
            report.detail = f"Class {', '.join(fax)}"
        else:
            report.verdict = "no-fax"
            listed = ",".join(report.classes) if report.classes else "+FCLASS=? not answered"
            report.detail = f"a modem, but no fax class faxpipe drives ({listed})"


def probe(channel: ATChannel, device: str = "", *, timeout: float = PROBE_TIMEOUT) -> ProbeReport:
    """Probe the modem on an open channel; the report's verdict says what was found."""
    return Prober(channel, device, timeout=timeout).run()


def probe_device(device: str, *, timeout: float = PROBE_TIMEOUT, log=None) -> ProbeReport:
    """Open ``device`` (a path or a pyserial URL), probe it, close it. ``log``: the transcript file."""
    from drivers.at import open_port

    transcript = Transcript(log) if log is not None else Transcript()
    try:
        port = open_port(device, baudrate=19200 if device.lower().startswith("softmodem:") else 115200)
    except Exception as exc:   # serial.SerialException, OSError
        transcript.close(failed=True)
        return ProbeReport(device=device, verdict="unopenable", detail=f"cannot open {device!r}: {exc}")
    report = None
    try:
        report = probe(ATChannel(port, transcript=transcript, timeout=timeout), device, timeout=timeout)
        report.transcript = transcript.path
        return report
    finally:
        transcript.close(failed=report is None or not report.ok)
        try:
            port.close()
        except Exception:
            pass
