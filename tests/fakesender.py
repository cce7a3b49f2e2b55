"""A stand-in for the modem driver, for tests only: it makes no call, it returns scripted
:class:`CallOutcome`s (the real one is ``drivers.class1.send_fax``).

``ScriptedSender({"7778888": [Completion.BUSY, Completion.OK]}, pages=2)`` answers the first
call to 7778888 with BUSY and the second with every page confirmed; numbers without a script
are delivered. An optional ``log`` file gets one line per call start and end
(``start|end number pid time``), appended atomically, so calls of several processes can be
checked for overlap and repetition.
"""

from __future__ import annotations

import os
import threading
import time

from faxpipe.jobs.sender import CallOutcome, PageResult
from faxpipe.t30.completion import Completion


class ScriptedSender:
    def __init__(self, script: dict | None = None, *, pages: int = 1, delay: float = 0.0,
                 log: str | None = None):
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.pages, self.delay, self.log = pages, delay, log
        self.calls: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def _note(self, what: str, number: str) -> None:
        if self.log:
            fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{what} {number} {os.getpid()} {time.time():.6f}\n".encode())
            finally:
                os.close(fd)

    def __call__(self, modem, number: str, tiff_path: str, transcript_path: str) -> CallOutcome:
        with self._lock:
            self.calls.append((modem.name, number, tiff_path))
            steps = self.script.get(number)
            step = steps.pop(0) if steps else Completion.OK
        self._note("start", number)
        if self.delay:
            time.sleep(self.delay)
        with open(transcript_path, "w") as f:
            f.write(f"fake call to {number}: {getattr(step, 'name', step)}\n")
        self._note("end", number)
        if isinstance(step, CallOutcome):
            return step
        if isinstance(step, BaseException):
            raise step
        if step is Completion.OK:
            pages = tuple(PageResult(n, True, "MCF") for n in range(1, self.pages + 1))
            return CallOutcome(step, pages, remote_csid="+1 555 0199")
        return CallOutcome(step, detail=step.name)
