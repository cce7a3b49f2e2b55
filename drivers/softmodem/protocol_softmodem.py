#! python
"""pyserial URL handler for the faxpipe software fax modem.

Purpose
    ``serial.serial_for_url("softmodem://100?exchange=lab")`` opens a software Class 1 fax modem
    (ITU-T T.31) with number 100 on the in-process exchange "lab", behind the ordinary pyserial
    interface; the Class 1 driver runs the very same code against it as against ``/dev/ttyUSB0``.
    pyserial finds this module because :func:`drivers.softmodem.register` appends
    ``drivers.softmodem`` to ``serial.protocol_handler_packages``.

URL format
    softmodem://NUMBER[?option=value[&option=value …]]

Options
    exchange=NAME       the exchange to join (default "default"); modems on one exchange can call
                        each other. Exchange options apply when the exchange is created:
    rate_scale=F        line time runs F times faster (default 1 = real time)
    ring_interval=S     seconds between RINGs (default 6, scaled)
    max_rings=N         rings before the caller gets NO ANSWER (default 5)
    route=NUMBER        calls to numbers no modem has go to NUMBER (default: NO CARRIER)
    rings=N             S0: answer automatically after N rings (default 0 = wait for ATA)
    ber, seed, drop, corrupt, cut, busy, no_answer
                        faults of this modem (see drivers.softmodem.line)
    class=LIST          the fax classes offered, e.g. ``2.0`` or ``1,2`` (default 1,2,2.0); a single
                        class is also the +FCLASS the modem starts in (the Class 2 / 2.0
                        personalities: drivers.softmodem.fax2)
    quirks=LIST         Class 2 / 2.0 quirks of field modems: reverse_rx, reverse_tx, host_rtc,
                        bogus_counts (drivers.softmodem.fax2)

Baud rate, parity and flow-control settings are accepted and ignored (there is no UART); writes
block while the modem's input buffer is full, which is what flow control achieves on a real port.
DTR off hangs up (V.250 &D2); CTS, DSR are on, CD is on during a call, RI while ringing.
"""

from __future__ import annotations

import time
import urllib.parse as urlparse

from serial.serialutil import PortNotOpenError, SerialBase, SerialException, SerialTimeoutException

from .dce import SoftModem
from .line import Exchange, Faults

EXCHANGE_OPTIONS = {"rate_scale": float, "ring_interval": float, "max_rings": int, "route": str}
FAULT_OPTIONS = {"ber", "seed", "drop", "corrupt", "cut", "busy", "no_answer"}


def parse_url(url: str):
    """``softmodem://…`` → (number, exchange name, exchange options, S0 rings, faults or None,
    personality options for :class:`SoftModem`: ``classes`` and ``quirks``)."""
    parts = urlparse.urlsplit(url)
    if parts.scheme.lower() != "softmodem":
        raise SerialException(f"expected a softmodem://NUMBER?options URL, not {url!r}")
    number = (parts.netloc + parts.path).strip("/")
    if not number:
        raise SerialException(f"{url!r}: the softmodem URL needs a number, e.g. softmodem://100")
    name, exchange_options, rings, faults, personality = "default", {}, 0, {}, {}
    for option, values in urlparse.parse_qs(parts.query, keep_blank_values=True).items():
        value = values[-1]
        try:
            if option == "exchange":
                name = value
            elif option in EXCHANGE_OPTIONS:
                exchange_options[option] = EXCHANGE_OPTIONS[option](value)
            elif option == "rings":
                rings = int(value)
            elif option in FAULT_OPTIONS:
                faults[option] = value
            elif option == "class":
                personality["classes"] = tuple(c.strip() for c in value.split(",") if c.strip())
            elif option == "quirks":
                personality["quirks"] = tuple(q.strip() for q in value.split(",") if q.strip())
            else:
                raise ValueError(f"unknown option {option!r}")
        except ValueError as exc:
            raise SerialException(f"{url!r}: {exc}") from None
    try:
        parsed = Faults.parse(faults) if faults else None
    except ValueError as exc:
        raise SerialException(f"{url!r}: {exc}") from None
    return number, name, exchange_options, rings, parsed, personality


class Serial(SerialBase):
    """A software fax modem behind pyserial's Serial interface."""

    BAUDRATES = (300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)

    def __init__(self, *args, **kwargs):
        self.modem: SoftModem | None = None
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        number, name, exchange_options, rings, faults, personality = parse_url(self.portstr)
        try:
            exchange = Exchange.named(name, **exchange_options)
            self.modem = SoftModem(number, exchange, faults=faults, **personality)
        except ValueError as exc:
            raise SerialException(f"cannot open {self.portstr!r}: {exc}") from None
        self.modem.s[0] = rings
        self.is_open = True

    def close(self) -> None:
        if self.modem is not None:
            self.modem.close()
            self.modem = None
        self.is_open = False

    def _reconfigure_port(self) -> None:
        pass  # no UART: speed, framing and flow-control settings do not matter

    def from_url(self, url: str):
        return parse_url(url)

    def _need(self) -> SoftModem:
        if not self.is_open or self.modem is None:
            raise PortNotOpenError()
        return self.modem

    @property
    def in_waiting(self) -> int:
        return self._need().out_waiting

    @property
    def out_waiting(self) -> int:
        return self._need().in_pending

    def read(self, size: int = 1) -> bytes:
        modem = self._need()
        timeout = self._timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        data = bytearray()
        while len(data) < size:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            chunk = modem.read(size - len(data), left)
            if chunk:
                data += chunk
                continue
            if left is not None and left <= 0 or not self.is_open:
                break
        return bytes(data)

    def write(self, data) -> int:
        modem = self._need()
        data = bytes(data)
        try:
            sent = modem.write(data, self._write_timeout)
        except OSError as exc:
            raise SerialException(str(exc)) from None
        if sent < len(data):
            raise SerialTimeoutException("Write timeout")
        return sent

    def flush(self) -> None:
        modem = self._need()
        while modem.in_pending and self.is_open:
            time.sleep(0.01)

    def reset_input_buffer(self) -> None:
        self._need().discard_output()

    def reset_output_buffer(self) -> None:
        pass

    def _update_break_state(self) -> None:
        pass

    def _update_rts_state(self) -> None:
        pass

    def _update_dtr_state(self) -> None:
        if self.modem is not None and not self._dtr_state:
            self.modem.dtr_dropped()

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return self._need().ringing

    @property
    def cd(self) -> bool:
        return self._need().in_call
