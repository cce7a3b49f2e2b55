"""Start spandsp's T.31 Class 1 modem on a pseudo-terminal, with spandsp's fax terminal as the far
end of the line, and collect the terminal's verdict.

    with start_spandsp_modem("answer", receive=tmp / "rx.tif") as modem:
        run_my_dte(modem.pty)            # open modem.pty like a serial port, ATD, send a fax
        result = modem.wait(timeout=60)  # the peer exits by itself after the DTE's ATH
    assert result.ok and result.pages_rx == 1

See ``tests/test_peer_spandsp.py`` for the behaviour of the modem and its quirks.
"""

from __future__ import annotations

import os
import select
import shlex
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .build import spandsp_modem_binary


@dataclass
class ModemResult:
    """The peer's RESULT line, parsed, plus how the process ended."""

    returncode: int
    status: int                 # spandsp's T.30 completion code (0 = T30_ERR_OK), -1 if none
    status_text: str
    end: str                    # hangup (the DTE's ATH), phase_e, timeout, signal
    pages_tx: int               # pages the terminal sent (--send)
    pages_rx: int               # pages the terminal received (--receive)
    rate: int                   # the last image bit rate
    ecm: bool
    encoding: str               # mh / mr / mmr / none: the coding on the line
    fields: dict = field(repr=False)   # every key of the RESULT line, as text
    log: str = field(repr=False, default="")  # the peer's stderr (spandsp log, AT trace)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.status == 0


def parse_result(stdout: str) -> dict | None:
    """The key=value fields of the last RESULT line of the peer's stdout, or None."""
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        return None
    return dict(item.split("=", 1) for item in shlex.split(lines[-1])[1:] if "=" in item)


class SpandspModem:
    """A running peer: ``pty`` is the device path for the DTE; ``wait`` / ``stop`` end it."""

    def __init__(self, proc: subprocess.Popen, pty: str, log_path: Path, argv: list[str]):
        self.proc = proc
        self.pty = pty
        self.log_path = log_path
        self.argv = argv
        self.result: ModemResult | None = None

    def wait(self, timeout: float = 60) -> ModemResult:
        """Wait for the peer to finish on its own (after the call and the DTE's hang-up)."""
        if self.result is None:
            try:
                out, _ = self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                return self.stop()
            self.result = self._collect(out)
        return self.result

    def stop(self, timeout: float = 10) -> ModemResult:
        """End the peer now if it is still running (SIGTERM: it prints its RESULT and exits)."""
        if self.result is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                out, _ = self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, _ = self.proc.communicate()
            self.result = self._collect(out)
        return self.result

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _collect(self, out: bytes) -> ModemResult:
        text = out.decode(errors="replace")
        fields = parse_result(text) or {}

        def number(key: str, default: int = -1) -> int:
            try:
                return int(fields[key])
            except (KeyError, ValueError):
                return default

        return ModemResult(
            returncode=self.proc.returncode,
            status=number("status"),
            status_text=fields.get("status_text", "no RESULT line"),
            end=fields.get("end", ""),
            pages_tx=number("pages_tx", 0),
            pages_rx=number("pages_rx", 0),
            rate=number("rate", 0),
            ecm=fields.get("ecm") == "1",
            encoding=fields.get("encoding", "none"),
            fields=fields,
            log=self.log(),
        )

    def __enter__(self) -> "SpandspModem":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_spandsp_modem(
    role: str,
    *,
    send: str | os.PathLike | None = None,
    receive: str | os.PathLike | None = None,
    ecm: bool = False,
    compressions: str | None = None,
    modems: str | None = None,
    ident: str | None = None,
    log_level: int = 0,
    trace: bool = False,
    timeout: float = 120,
    realtime_image: bool = False,
    realtime: bool = False,
    ring_interval: float | None = None,
    xonxoff: bool = False,
    log_path: str | os.PathLike | None = None,
    extra_args: tuple[str, ...] = (),
) -> SpandspModem:
    """Build (if needed) and start the peer; return once its pty exists.

    role: "answer" — the terminal waits to be called: the DTE dials (ATD) and sends or receives;
          "call"   — the terminal calls the DTE: RING on the pty, the DTE answers (ATA).
    send / receive: the TIFF the terminal transmits, or where it writes what it receives.
    ecm: offer ECM (and T.6 unless ``compressions`` says otherwise: "mh,mr,mmr" subsets).
    modems: "v17,v29,v27ter" subsets. timeout: the peer's own hard limit, in seconds.
    realtime_image: high-speed data from the DTE at the line rate (efax needs it; see the tests).
    log_path: where the peer's stderr goes (default: a temporary file, in ``result.log``).
    """
    if role not in ("answer", "call"):
        raise ValueError("role is 'answer' or 'call'")
    if (send is None) == (receive is None):
        raise ValueError("give exactly one of send= and receive=")
    argv = [str(spandsp_modem_binary()), f"--{role}"]
    argv += ["--send", os.fspath(send)] if send is not None else ["--receive", os.fspath(receive)]
    argv += ["--ecm"] if ecm else ["--no-ecm"]
    if compressions:
        argv += ["--compressions", compressions]
    if modems:
        argv += ["--modems", modems]
    if ident is not None:
        argv += ["--ident", ident]
    argv += ["--log", str(log_level), "--timeout", str(timeout)]
    if trace:
        argv.append("--trace")
    if realtime_image:
        argv.append("--realtime-image")
    if realtime:
        argv.append("--realtime")
    if xonxoff:
        argv.append("--xonxoff")
    if ring_interval is not None:
        argv += ["--ring-interval", str(ring_interval)]
    argv += list(extra_args)

    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="spandsp_modem.", suffix=".log")
        os.close(fd)
        log_path = name
    log_path = Path(log_path)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
    modem = SpandspModem(proc, "", log_path, argv)

    # The first stdout line is the pty slave path.
    deadline = time.monotonic() + 10
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            modem.stop()
            raise RuntimeError(f"spandsp_modem printed no pty path: {modem.log()[-2000:]}")
        chunk = os.read(proc.stdout.fileno(), 1)
        if not chunk:
            modem.stop()
            raise RuntimeError(f"spandsp_modem exited early: {modem.log()[-2000:]}")
        line += chunk
    modem.pty = line.decode().strip()
    return modem
