"""drivers.softmodem.atparse — split one AT command line into commands (V.250 §5.2-5.4).

A command line is ``AT`` followed by any number of commands: basic ones (a letter, or ``&`` and a
letter, with an optional number: ``E0``, ``V1``, ``&K4``), S-parameters (``S0=2``, ``S7?``), the dial
command ``D`` (the rest of the line is its dial string), and extended ones (``+NAME`` with ``=?``,
``?``, ``=value`` or nothing; separated by ``;``). Spaces are ignored outside dial strings and
quoted values; letters are case-insensitive. A line that cannot be split raises :class:`ATSyntaxError`
(the interpreter answers ``ERROR``, V.250 §5.4.1).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_COMMAND_LINE = 255  # V.250 §5.2.1: at least 40 characters must be accepted


class ATSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Command:
    """One command: ``kind`` basic / s / dial / extended; ``op`` "", "?", "=?", "=" (with ``value``)."""

    kind: str
    name: str
    op: str = ""
    value: str = ""

    @property
    def number(self) -> int:
        """The numeric argument of a basic command or ``=n`` (0 when absent, V.250 §5.3.1)."""
        text = self.value.strip()
        if not text:
            return 0
        if not text.isdigit() or len(text) > 5:
            raise ATSyntaxError(f"{self.name}: {text!r} is not a number")
        return int(text)


def _digits(text: str, i: int) -> tuple[str, int]:
    j = i
    while j < len(text) and text[j].isdigit():
        j += 1
    return text[i:j], j


def parse_line(line: str) -> list[Command]:
    """Commands of an ``AT…`` line (with the ``AT`` prefix). Empty list for a bare ``AT``."""
    if len(line) > MAX_COMMAND_LINE:
        raise ATSyntaxError("command line too long")
    if line[:2].upper() != "AT":
        raise ATSyntaxError("command line does not start with AT")
    text = line[2:]
    out: list[Command] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t":
            i += 1
            continue
        up = ch.upper()
        if up == "D":
            out.append(Command("dial", "D", "=", text[i + 1:].strip()))
            break
        if up == "S":
            num, j = _digits(text, i + 1)
            if not num:
                raise ATSyntaxError("S without a register number")
            while j < n and text[j] == " ":
                j += 1
            if text[j:j + 1] == "?":
                out.append(Command("s", f"S{int(num)}", "?"))
                i = j + 1
            elif text[j:j + 1] == "=":
                val, k = _digits(text, j + 1)
                out.append(Command("s", f"S{int(num)}", "=", val))
                i = k
            else:
                out.append(Command("s", f"S{int(num)}", "", ""))  # V.250: Sn selects; treat as query-less
                i = j
            continue
        if ch in "+#%":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "!%-./:_"):
                j += 1
            name = text[i:j].upper()
            if len(name) < 2:
                raise ATSyntaxError("extended command without a name")
            end = _extended_end(text, j)
            arg = text[j:end].strip()
            if arg.startswith("=?"):
                op, value = "=?", arg[2:].strip()
                if value:
                    raise ATSyntaxError(f"junk after {name}=?")
            elif arg.startswith("="):
                op, value = "=", arg[1:].strip()
            elif arg.startswith("?"):
                op, value = "?", arg[1:].strip()
                if value:
                    raise ATSyntaxError(f"junk after {name}?")
            elif arg:
                raise ATSyntaxError(f"junk after {name}: {arg!r}")
            else:
                op, value = "", ""
            out.append(Command("extended", name, op, value))
            i = end + 1  # skip the ';'
            continue
        if ch == "&" or ch == "\\":
            if i + 1 >= n or not text[i + 1].isalpha():
                raise ATSyntaxError(f"{ch} without a letter")
            num, j = _digits(text, i + 2)
            out.append(Command("basic", ch + text[i + 1].upper(), "", num))
            i = j
            continue
        if ch.isalpha():
            num, j = _digits(text, i + 1)
            out.append(Command("basic", up, "", num))
            i = j
            continue
        if ch == ";":
            i += 1
            continue
        raise ATSyntaxError(f"unexpected character {ch!r}")
    return out


def _extended_end(text: str, j: int) -> int:
    """Index of the ';' ending an extended command (or the line's end); quotes are skipped."""
    quoted = False
    while j < len(text):
        if text[j] == '"':
            quoted = not quoted
        elif text[j] == ";" and not quoted:
            return j
        j += 1
    if quoted:
        raise ATSyntaxError("unterminated string")
    return j
