"""The far end of ``faxpipe serve``'s default modem pair: a software modem that answers every call
and files each fax it receives.

With no ``[[modem]]`` configured, ``faxpipe serve`` puts two software modems on an in-process
exchange (drivers.softmodem): the worker dials out through ``softmodem://100``, and the exchange
routes every other number to ``softmodem://200``, where :class:`FarEnd` runs the Class 1 driver
(drivers/class1.py) in a receiving loop. Each fax received is written to ``DATA/received/`` as
``fax-STAMP-CSID.tif`` (TIFF-F, G4), ``….png`` (a preview sheet of the pages as received) and
``….log`` (the AT transcript of the answering modem). The line runs ``rate_scale`` times faster
than real time (``[softmodem] rate_scale`` in the configuration; 1 = the real V.17 line rate).

drivers are imported lazily, here in faxpipe.cli only (faxpipe never imports them otherwise).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("faxpipe.farend")

CALLER, ANSWERER = "100", "200"
IDENT = "+1 555 0199"
WAIT = 30.0         # seconds the answering modem waits for the RING of a call already ringing
POLL = 0.05         # seconds between looks at the ring indicator while the line is idle
MAX_RINGS = 20      # rings a caller hears before NO ANSWER


@dataclass(frozen=True)
class Received:
    """One fax the far end filed: its TIFF-F, preview PNG and transcript, and how the call went."""

    tiff: Path
    preview: Path
    transcript: Path
    pages: int
    remote: str
    ok: bool


def pair_urls(rate_scale: float, exchange: str | None = None) -> tuple[str, str]:
    """(the URL the worker dials through, the far end's URL) on one in-process exchange whose
    unknown numbers all ring the far end."""
    name = exchange or f"serve-{os.getpid()}-{time.monotonic_ns()}"
    options = f"exchange={name}&rate_scale={rate_scale:g}&max_rings={MAX_RINGS}&route={ANSWERER}"
    return f"softmodem://{CALLER}?{options}", f"softmodem://{ANSWERER}?{options}"


class FarEnd:
    """A thread answering every call on ``device`` and filing the faxes under ``out_dir``.
    ``on_fax(Received)`` is called after each fax is filed (``received`` lists them all)."""

    def __init__(self, device: str, out_dir: str | os.PathLike, *, ident: str = IDENT, wait: float = WAIT,
                 on_fax=None):
        self.device, self.ident, self.wait, self.on_fax = device, ident, wait, on_fax
        self.out = Path(out_dir)
        self.received: list[Received] = []
        self._stop = threading.Event()
        self._port = None
        self._thread: threading.Thread | None = None

    def start(self) -> "FarEnd":
        """Open the far modem (so the exchange exists before anyone dials) and start answering."""
        from drivers.at import open_port

        self.out.mkdir(parents=True, exist_ok=True)
        self._port = open_port(self.device)
        self._thread = threading.Thread(target=self._run, name="farend", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._port is not None and (self._thread is None or not self._thread.is_alive()):
            self._port.close()

    def __enter__(self) -> "FarEnd":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        # The driver is started only once the modem rings: a receive() that gave up waiting would
        # end with ATH0, and an ATH0 that crossed an incoming call would reject it.
        while not self._stop.is_set():
            if not self._port.ri:
                self._stop.wait(POLL)
                continue
            try:
                self.answer_one()
            except Exception:   # a broken call must not end the far end
                log.exception("far end: the call failed")
                self._stop.wait(0.5)

    def answer_one(self) -> Received | None:
        """Wait up to ``wait`` seconds for a RING; answer the call and file the fax."""
        from drivers.at import ATChannel, Transcript
        from drivers.class1 import Class1Modem

        transcript = Transcript(None)
        channel = ATChannel(self._port, transcript=transcript)
        try:
            result = Class1Modem(channel, ident=self.ident).receive(rings=1, wait=self.wait)
        finally:
            channel.close(failed=False)
        if result.detail == "no RING":
            return None
        base = self._base(result.remote_ident)
        log_path = base.with_suffix(".log")
        log_path.write_text("\n".join(transcript.lines) + "\n")
        if not result.received:
            log.warning("far end: a call from %s brought no page (%s: %s); transcript %s",
                        result.remote_ident or "an unnamed station", result.completion.name,
                        result.reason, log_path)
            return None
        return self._file(base, result, log_path)

    def _file(self, base: Path, result, log_path: Path) -> Received:
        from .. import tiff
        from ..preview import contact_sheet

        tif, png = base.with_suffix(".tif"), base.with_suffix(".png")
        tiff.write(tif, result.received, compression="g4")
        contact_sheet(result.received, columns=min(4, len(result.received)), thumb_width=420).save(png)
        got = Received(tif, png, log_path, len(result.received), result.remote_ident, result.ok)
        self.received.append(got)
        log.info("far end: received %d page(s) from %s%s: %s (preview %s)", got.pages,
                 got.remote or "an unnamed station", "" if got.ok else f" (incomplete: {result.reason})",
                 tif, png)
        if self.on_fax is not None:
            self.on_fax(got)
        return got

    def _base(self, remote: str) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        who = "".join(ch for ch in remote if ch.isdigit())
        stem = f"fax-{stamp}" + (f"-{who}" if who else "")
        base, n = self.out / stem, 1
        while base.with_suffix(".tif").exists() or base.with_suffix(".log").exists():
            n += 1
            base = self.out / f"{stem}-{n}"
        return base
