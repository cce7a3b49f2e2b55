"""atheris target for the parsers of modem bytes: AT responses and DLE data (drivers/at.py) and the
software modem's command-line splitter (drivers/softmodem/atparse.py).

    python fuzz/fuzz_at.py [libFuzzer flags] [CORPUS_DIR]

The first input byte picks the target, the rest is what the modem (or the DTE) sent:
  0  ATChannel.command / read_data over a port that delivers the bytes in pieces: a Response or
     a ModemError, within the deadline, with bounded buffers;
  1  DleDecoder fed in pieces: the data equals a one-shot decode, never more than the limit;
  2  atparse.parse_line: a command list or ATSyntaxError.
Anything else — another exception, a hang (-timeout), memory past -rss_limit_mb — is a finding.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports(include=["drivers"]):
    from drivers.at import MAX_LINE, ATChannel, DleDecoder
    from drivers.softmodem.atparse import ATSyntaxError, parse_line
    from faxpipe.errors import ModemError


class Port:
    """Delivers ``data`` in pieces of ``step`` bytes, then nothing (a silent modem)."""

    def __init__(self, data: bytes, step: int):
        self.data, self.step, self.timeout = data, max(1, step), 0

    @property
    def in_waiting(self):
        return min(len(self.data), self.step)

    def read(self, size=1):
        piece, self.data = self.data[:min(size, self.step)], self.data[min(size, self.step):]
        return piece

    def write(self, data):
        return len(data)


def _channel(body: bytes, step: int) -> None:
    ch = ATChannel(Port(body, step), timeout=0.01)
    try:
        response = ch.command("AT+FRH=3")
        assert len(response.lines) <= 64 and all(len(line) <= MAX_LINE for line in response.lines)
        if response.result == "CONNECT":
            data = ch.read_data(timeout=0.01, limit=4096)
            assert len(data) <= 4096 + 1
    except ModemError:
        pass
    assert len(ch._buf) <= len(body)
    ch.close(failed=True)


def _dle(body: bytes, step: int) -> None:
    whole = DleDecoder(limit=1 << 20)
    expected = whole.feed(body)
    pieces, out = DleDecoder(limit=1 << 20), bytearray()
    for i in range(0, len(body), max(1, step)):
        if pieces.done:
            break
        out += pieces.feed(body[i:i + step])
    assert bytes(out) == expected and pieces.done == whole.done


def test_one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    target, step, body = data[0] % 3, data[1] % 17 + 1, data[2:]
    if target == 0:
        _channel(body, step)
    elif target == 1:
        _dle(body, step)
    else:
        try:
            parse_line(body.decode("latin-1"))
        except ATSyntaxError:
            pass


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
