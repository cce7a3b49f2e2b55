"""Fonts for text pages and header lines: DejaVu Sans Mono (Debian fonts-dejavu-core), and for
characters it lacks, a system font that has them, found through fontconfig's charsets
(fc-list(1) ``%{charset}``: hexadecimal code point ranges)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass, field

from PIL import ImageFont

from ..errors import DocumentError

MONO_FAMILY = "DejaVu Sans Mono"
_MONO_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",)
_SCALABLE = (".ttf", ".otf", ".ttc", ".otc")


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int
    monospace: bool
    charset: frozenset = field(repr=False)


def parse_charset(text: str) -> frozenset:
    """fontconfig's charset text ("20-7e a0-17f 192") as a set of code points."""
    points = set()
    for item in text.split():
        first, _, last = item.partition("-")
        try:
            a = int(first, 16)
            b = int(last, 16) if last else a
        except ValueError:
            continue
        points.update(range(a, b + 1))
    return frozenset(points)


@functools.lru_cache(maxsize=1)
def system_fonts() -> tuple[FontFile, ...]:
    """Every scalable font fontconfig knows, monospaced ones first."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return ()
    try:
        out = subprocess.run([fc_list, "--format", "%{file}\t%{index}\t%{spacing}\t%{charset}\n"],
                             capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    fonts = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != 4 or not parts[0].lower().endswith(_SCALABLE):
            continue
        path, index, spacing, charset = parts
        fonts.append(FontFile(path, int(index or 0), spacing in ("90", "100"), parse_charset(charset)))
    fonts.sort(key=lambda f: (not f.monospace, MONO_FAMILY.replace(" ", "") not in f.path, f.path))
    return tuple(fonts)


@functools.lru_cache(maxsize=1)
def mono() -> FontFile:
    """The bundled monospace font; its charset from fontconfig when it knows the file."""
    for font in system_fonts():
        if os.path.basename(font.path) == "DejaVuSansMono.ttf":
            return font
    for path in _MONO_PATHS:
        if os.path.exists(path):
            return FontFile(path, 0, True, frozenset(range(0x20, 0x7F)) | frozenset(range(0xA0, 0x180)))
    raise DocumentError(f"the {MONO_FAMILY} font is not installed (Debian: fonts-dejavu-core)",
                        code="internal_server_error")


def fallback_for(chars, name: str) -> dict[str, FontFile]:
    """A font for every character the monospace font lacks; DocumentError naming those none has."""
    main = mono().charset
    wanted = sorted({c for c in chars if ord(c) not in main})
    found, missing = {}, []
    for c in wanted:
        font = next((f for f in system_fonts() if ord(c) in f.charset), None)
        if font is None:
            missing.append(c)
        else:
            found[c] = font
    if missing:
        shown = ", ".join(f"U+{ord(c):04X}" + (f" {c!r}" if c.isprintable() else "") for c in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise DocumentError(f"{name}: no installed font can draw {shown}{more}")
    return found


@functools.lru_cache(maxsize=64)
def truetype(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)
