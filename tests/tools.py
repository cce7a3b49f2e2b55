"""Helpers for tests that run programs written by others (libtiff tools, Ghostscript).

A missing program skips the test, except under ``FAXPIPE_STRICT=1`` (CI), where it fails it:
an oracle that silently did not run proves nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def strict() -> bool:
    return os.environ.get("FAXPIPE_STRICT") == "1"


def require_tool(name: str) -> str:
    """The full path of program ``name``; skip (or fail under FAXPIPE_STRICT=1) if absent."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: libtiff-tools / ghostscript)"
        if strict():
            pytest.fail(f"FAXPIPE_STRICT=1 and {message}")
        pytest.skip(message)
    return path


def run_tool(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a required program; return the completed process (stdout / stderr as text)."""
    require_tool(argv[0])
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def require_lib(name: str, package: str = "libtiff6"):
    """A loaded shared library (``ctypes.CDLL``), e.g. ``require_lib("libtiff.so.6")``;
    skip (or fail under FAXPIPE_STRICT=1) if it cannot be loaded (``package``: Debian's)."""
    import ctypes

    try:
        return ctypes.CDLL(name)
    except OSError as exc:
        message = f"shared library {name} cannot be loaded ({exc}; Debian: {package})"
        if strict():
            pytest.fail(f"FAXPIPE_STRICT=1 and {message}")
        pytest.skip(message)
