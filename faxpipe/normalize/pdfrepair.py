"""Last-resort repair of a PDF whose cross-reference table and trailer are lost (a truncated
upload): find every ``N G obj`` by scanning (ISO 32000-1 §7.3.10 indirect objects), find the
catalog (§7.7.2, ``/Type /Catalog``), and append a fresh cross-reference table and trailer
(§7.5.4, §7.5.5). An object cut short (no ``endobj``) is left out. Objects inside object streams cannot be found this way: such files stay
unrepairable."""

from __future__ import annotations

import re

_OBJ = re.compile(rb"(?<![0-9])(\d{1,10})[ \t\r\n\f\x00]+(\d{1,5})[ \t\r\n\f\x00]+obj\b")
_CATALOG = re.compile(rb"/Type\s*/Catalog\b")
MAX_OBJECTS = 10_000_000


def rebuild(data: bytes) -> bytes | None:
    """The file with a new cross-reference table and trailer, or None when there is no catalog."""
    offsets: dict[int, tuple[int, int]] = {}
    matches = list(_OBJ.finditer(data))
    root = None
    for i, m in enumerate(matches):
        number, generation = int(m.group(1)), int(m.group(2))
        if number >= MAX_OBJECTS:
            continue
        end = data.find(b"endobj", m.end())
        body_end = matches[i + 1].start() if i + 1 < len(matches) else len(data)
        if not 0 <= end < body_end:
            continue  # cut short: an object without its end is not an object
        offsets[number] = (m.start(), generation)
        if _CATALOG.search(data[m.end():min(end, m.end() + 4096)]):
            root = (number, generation)
    if root is None or root[0] not in offsets:
        return None
    size = max(offsets) + 1
    out = bytearray(data if data.endswith(b"\n") else data + b"\n")
    start = len(out)
    out += b"xref\n0 %d\n" % size
    for number in range(size):
        if number in offsets:
            offset, generation = offsets[number]
            out += b"%010d %05d n\r\n" % (offset, generation)
        else:
            out += b"0000000000 65535 f\r\n"
    out += b"trailer\n<< /Size %d /Root %d %d R >>\nstartxref\n%d\n%%%%EOF\n" % (size, *root, start)
    return bytes(out)
