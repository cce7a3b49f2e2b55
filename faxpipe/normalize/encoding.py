"""Decoding plain-text files: UTF-8 with or without BOM, UTF-16 with BOM, then Windows-1252 /
Latin-1 (api-contract.md: text is what decodes so and holds no binary control bytes)."""

from __future__ import annotations

import codecs
import re

# C0 controls other than TAB, LF, FF, CR; DEL; and the C1 range. ESC and SUB (the DOS
# end-of-file mark) are tolerated: old printer files carry them.
_BINARY = re.compile("[\x00-\x08\x0b\x0e-\x19\x1c-\x1f\x7f-\x9f]")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def decode(data: bytes) -> tuple[str, str] | None:
    """(text, encoding name), or None when the bytes are not text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(data.decode(encoding), encoding)
            except UnicodeDecodeError:
                return None
    try:
        return _checked(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    # Windows-1252 is Latin-1 with printable characters where Latin-1 has C1 controls; its five
    # undefined bytes read as those controls through Latin-1, and are refused as binary.
    try:
        return _checked(data.decode("cp1252"), "windows-1252")
    except UnicodeDecodeError:
        return _checked(data.decode("latin-1"), "latin-1")


def _checked(text: str, encoding: str) -> tuple[str, str] | None:
    return None if _BINARY.search(text) else (text, encoding)
