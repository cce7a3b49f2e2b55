"""drivers.softmodem — a software Class 1 fax modem (ITU-T T.31 DCE) written for faxpipe.

Two ways to use it:

* in-process, as a pyserial URL: ``register()`` (done on import) appends this package to
  ``serial.protocol_handler_packages``, so ``serial.serial_for_url("softmodem://100?exchange=lab")``
  opens modem 100 on the exchange "lab" (URL options: :mod:`.protocol_softmodem`);
* on pseudo-terminals, for any fax program: ``python -m drivers.softmodem --pair`` prints two
  device paths (one per line, each followed by its number) and serves until stopped (:mod:`.pty`).

Modules: :mod:`.line` (exchange, calls, carriers, modulations, faults), :mod:`.atparse` (V.250 command
lines), :mod:`.dce` (buffers, command state, call control), :mod:`.fax1` (T.31 commands),
:mod:`.protocol_softmodem` (pyserial handler), :mod:`.pty` (pseudo-terminal server).
"""

from __future__ import annotations

from .dce import SoftModem
from .line import MODULATIONS, Exchange, Faults, same_modulation

__all__ = ["SoftModem", "Exchange", "Faults", "MODULATIONS", "same_modulation", "register", "PACKAGE"]

PACKAGE = "drivers.softmodem"


def register() -> None:
    """Make ``softmodem://`` URLs known to ``serial.serial_for_url`` (idempotent)."""
    import serial

    if PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(PACKAGE)


register()
