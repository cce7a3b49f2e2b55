"""Compile the C peers of the tests on demand, once per source version.

``spandsp_modem_binary()`` builds ``spandsp_modem.c`` with gcc against the system's spandsp
(Debian: libspandsp-dev, found through pkg-config) and caches the binary under
``build/peers/`` of the work tree, named by a hash of the source and the compiler flags, so an
edited source or another spandsp gets a fresh binary and concurrent test processes never see a
half-written one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "spandsp_modem.c"
CACHE = HERE.parent.parent / "build" / "peers"


class PeerUnavailable(RuntimeError):
    """A program or library the peer needs is not installed (the test skips, or fails in CI)."""


class PeerBuildError(RuntimeError):
    """The peer's source did not compile: always a failure, never a skip."""


def _pkg_config(*args: str) -> str:
    result = subprocess.run(["pkg-config", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise PeerUnavailable(
            f"pkg-config {' '.join(args)} failed: {result.stderr.strip() or 'no output'} "
            "(Debian: libspandsp-dev, pkg-config)"
        )
    return result.stdout.strip()


def spandsp_flags() -> tuple[list[str], list[str], str]:
    """(cflags, libs, version) of spandsp; raises PeerUnavailable when it cannot be found."""
    for tool in ("gcc", "pkg-config"):
        if shutil.which(tool) is None:
            raise PeerUnavailable(f"{tool} is not installed (Debian: gcc, pkg-config)")
    version = _pkg_config("--modversion", "spandsp")
    cflags = _pkg_config("--cflags", "spandsp").split()
    libs = _pkg_config("--libs", "spandsp").split()
    # spandsp's headers include tiffio.h and its library needs libtiff and libm.
    return cflags, libs + ["-ltiff", "-lm"], version


def spandsp_modem_binary(cache: Path | None = None) -> Path:
    """Path of the compiled spandsp_modem, building it if this version is not cached yet."""
    cflags, libs, version = spandsp_flags()
    source = SOURCE.read_bytes()
    command = ["gcc", "-O2", "-Wall", *cflags]
    key = hashlib.sha256(
        source + "\0".join(command + libs + [version]).encode()
    ).hexdigest()[:16]
    cache = Path(cache or CACHE)
    binary = cache / f"spandsp_modem-{key}"
    if binary.exists():
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=binary.name + ".", dir=cache)
    os.close(fd)
    try:
        result = subprocess.run(
            [*command, "-o", tmp, str(SOURCE), *libs], capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            if "spandsp.h" in result.stderr or "tiffio.h" in result.stderr:
                raise PeerUnavailable(
                    "spandsp headers missing (Debian: libspandsp-dev, libtiff-dev):\n" + result.stderr
                )
            raise PeerBuildError(f"gcc failed on {SOURCE.name}:\n{result.stderr}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, binary)  # atomic: a concurrent build just replaces an identical file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return binary
