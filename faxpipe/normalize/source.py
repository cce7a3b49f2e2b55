"""Sources as the library takes them: a path, bytes, or a (name, bytes) pair.

The name is data only (api-contract.md: the filename never becomes a path); it is used for
messages and for the extension check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import DocumentError
from .limits import Limits


@dataclass(frozen=True)
class Source:
    name: str
    data: bytes


def load(source, index: int, limits: Limits) -> Source:
    """Read one source, refusing files over ``limits.max_bytes`` before reading them whole."""
    if isinstance(source, Source):
        name, data = source.name, source.data
    elif isinstance(source, tuple) and len(source) == 2:
        name, data = str(source[0]), source[1]
    elif isinstance(source, (bytes, bytearray, memoryview)):
        name, data = f"input {index + 1}", source
    elif isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        try:
            with open(name, "rb") as f:
                data = f.read(limits.max_bytes + 1)
        except OSError as exc:
            raise DocumentError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    else:
        raise TypeError(f"a source is a path, bytes or (name, bytes), not {type(source).__name__}")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name}: the content must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise DocumentError(f"{name}: larger than the {limits.max_bytes >> 20} MiB a file may be")
    return Source(name, data)
