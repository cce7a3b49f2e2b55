"""drivers.softmodem.pty — software modems on pseudo-terminals, for any fax program.

Purpose
    Put a :class:`~drivers.softmodem.dce.SoftModem` behind the master side of a pty so that a host
    program (efax, HylaFAX, pyserial, minicom …) opens the slave, e.g. ``/dev/pts/5``, as if it were
    a serial fax modem. Two of them on one exchange make a phone line between two fax programs.

Behaviour
    * The slave is put in raw mode and kept open by the server, so a DTE that closes and reopens
      the device never makes the master read fail with EIO (fax-protocol.md §5).
    * A pty has no modem-control lines: DTR, RTS, CTS, CD never change and are not needed; flow
      control is the pty's own buffer (a DTE writing page data blocks until the modem takes it at
      the line rate).
    * Two threads per pty: master → modem input, modem output → master; both stop on :meth:`close`.
"""

from __future__ import annotations

import os
import select
import threading
import tty

from .dce import SoftModem


class PtyModem:
    """One software modem served on a new pseudo-terminal; :attr:`path` is the device to open."""

    def __init__(self, modem: SoftModem):
        self.modem = modem
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        os.set_blocking(self.master, False)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._from_dte, name=f"pty-in-{modem.number}", daemon=True),
                         threading.Thread(target=self._to_dte, name=f"pty-out-{modem.number}", daemon=True)]
        for thread in self._threads:
            thread.start()

    def _from_dte(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if not ready:
                    continue
                data = os.read(self.master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            if data:
                try:
                    while data and not self._stop.is_set():
                        taken = self.modem.write(data, timeout=0.5)
                        data = data[taken:]
                except OSError:
                    return

    def _to_dte(self) -> None:
        pending = b""
        while not self._stop.is_set():
            if not pending:
                pending = self.modem.read(4096, timeout=0.2)
                if not pending:
                    continue
            try:
                _, ready, _ = select.select([], [self.master], [], 0.2)
                if ready:
                    pending = pending[os.write(self.master, pending):]
            except BlockingIOError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self.modem.close()
        for thread in self._threads:
            thread.join(timeout=2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "PtyModem":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
