"""The second PDF renderer: Ghostscript (``gs``, Debian's ghostscript), for comparison and for
those who trust it. One ``gs`` process renders the whole document to 8-bit grey PGM files
(``pgmraw``) at the fax resolution on a fixed medium the size of the content area, fitting and
turning every page itself (``-dPDFFitPage``); pages are read one at a time as ``gs`` finishes
them, and deleted, so memory and disk stay bounded. A page ``gs`` spends longer than the page
time limit on stops the job."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from typing import Iterator

from PIL import Image

from ..errors import DocumentError
from .geometry import Target, blank
from .limits import Deadline, Limits, timeout

POLL_SECONDS = 0.003


def command(gs: str, target: Target, pdf_path: str, out_pattern: str) -> list[str]:
    rows = target.rows - target.header_rows
    return [
        gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOPROMPT", "-sDEVICE=pgmraw",
        f"-r{target.xdpi}x{target.ydpi}", "-dFIXEDMEDIA", "-dPDFFitPage",
        f"-dDEVICEWIDTHPOINTS={target.width * 72 / target.xdpi:.4f}",
        f"-dDEVICEHEIGHTPOINTS={rows * 72 / target.ydpi:.4f}",
        "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4",
        f"-sOutputFile={out_pattern}", "-f", pdf_path,
    ]


def pages(data: bytes, count: int, target: Target, name: str, limits: Limits) -> Iterator[Image.Image]:
    gs = shutil.which("gs")
    if gs is None:
        raise DocumentError("Ghostscript (gs) is not installed (Debian: ghostscript)",
                            code="internal_server_error")
    with tempfile.TemporaryDirectory(prefix="faxpipe-gs-") as tmp:
        pdf_path = os.path.join(tmp, "in.pdf")
        with open(pdf_path, "wb") as f:
            f.write(data)
        pattern = os.path.join(tmp, "p%06d.pgm")
        with open(os.path.join(tmp, "stderr"), "w+b") as err:
            proc = subprocess.Popen(command(gs, target, pdf_path, pattern), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err, cwd=tmp)
            try:
                for number in range(1, count + 1):
                    path = _wait(proc, pattern, number, Deadline(limits.page_seconds), name, err)
                    with Image.open(path) as pgm:
                        content = pgm.convert("L")
                    os.unlink(path)
                    page = blank(target)
                    page.paste(content, (0, target.header_rows))
                    yield page
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()


def _wait(proc, pattern: str, number: int, deadline: Deadline, name: str, err) -> str:
    """The file of page ``number`` once ``gs`` has finished it (the next one exists, or gs ended)."""
    path, following = pattern % number, pattern % (number + 1)
    while True:
        ended = proc.poll() is not None
        if os.path.exists(following) or (ended and os.path.exists(path)):
            return path
        if ended:
            err.seek(0)
            said = err.read()[-300:].decode("utf-8", "replace").strip()
            raise DocumentError(f"{name}: Ghostscript could not render page {number}"
                                + (f" ({said})" if said else ""))
        if deadline.expired():
            raise timeout(name, number, deadline.seconds)
        time.sleep(POLL_SECONDS)
