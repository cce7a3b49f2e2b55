"""The worker: one thread per modem of the pool, each claiming a recipient, making the call
through a :class:`faxpipe.jobs.sender.Sender` and recording the outcome under its lease.

While a call runs, a heartbeat extends the lease every third of its length. A worker that dies
mid-call stops the heartbeat; when the lease runs out another worker takes the recipient again.
A sender that takes a ``progress`` keyword (faxpipe.jobs.sender) reports ``dialing`` /
``transmitting`` and the pages confirmed so far; the worker records them under the lease
(:meth:`Store.progress`), so GET shows the recipient ``transmitting`` while its pages go out.
A sender that takes ``first_page`` and ``attempt`` is given, on a retry, only the pages earlier
calls did not get confirmed (T.30 has no way to resume a page; the pages already confirmed are
not sent twice). Results are recorded by :meth:`Store.finish`: a recipient is ``delivered`` only when the call
completed normally with every page confirmed; busy, no answer, dropped and the other retryable
failures come back after the fax's retry delay until its attempts are used up.
"""

from __future__ import annotations

import inspect
import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path

from .config import Config, ModemConfig
from .sender import CallOutcome, Sender, class1_send
from .store import Claim, Store
from ..t30.completion import Completion

log = logging.getLogger("faxpipe.worker")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Run ``sender`` over the modems of ``config`` against ``store``; ``start`` / ``stop``."""

    def __init__(self, store: Store, config: Config, data_dir: str | os.PathLike, *,
                 sender: Sender = class1_send, poll: float = 1.0, name: str | None = None):
        self.store, self.config, self.sender, self.poll = store, config, sender, poll
        self.name = name or worker_id()
        self.transcripts = Path(data_dir) / "transcripts"
        self.transcripts.mkdir(parents=True, exist_ok=True)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.calls = 0
        self._progress = _takes(sender, "progress")
        self._resumes = _takes(sender, "first_page")

    @property
    def lease(self) -> float:
        return self.config.lease

    def start(self) -> None:
        for modem in self.config.modems:
            t = threading.Thread(target=self._run_modem, args=(modem,), name=f"modem-{modem.name}",
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)

    def _run_modem(self, modem: ModemConfig) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once(modem)
            except NotImplementedError as exc:
                log.error("modem %s: %s; its faxes stay queued", modem.name, exc)
                return
            except Exception:   # the database went away, a disk filled up: keep the pool alive
                log.exception("modem %s: worker loop error", modem.name)
                busy = False
            if not busy:
                self._stop.wait(self.poll)

    def run_once(self, modem: ModemConfig) -> bool:
        """Claim and send one recipient on ``modem``; False when nothing was due."""
        claim = self.store.claim(self.name, modem.name, self.lease)
        if claim is None:
            return False
        self.call(modem, claim)
        return True

    def call(self, modem: ModemConfig, claim: Claim) -> str | None:
        # lease_gen too: a call cut short by a crash keeps its transcript when the attempt is redone
        transcript = str(self.transcripts / f"{claim.uid}-{claim.recipient_id}-{claim.attempt}"
                                            f"-{claim.lease_gen}.log")
        beat = _Heartbeat(self.store, claim, self.lease)
        started = time.time()
        beat.start()
        extra = {}
        if self._progress:
            extra["progress"] = self._reporter(modem, claim)
        if self._resumes:   # a retry sends only the pages earlier calls did not get confirmed
            extra.update(first_page=claim.pages_sent + 1, attempt=claim.attempt)
        try:
            outcome = self.sender(modem, claim.number, claim.document, transcript, **extra)
        except NotImplementedError:
            beat.stop()
            self.store.release(claim)
            raise
        except Exception as exc:   # outcome unknown: count the attempt, retry after the delay
            log.exception("modem %s: call to %s failed", modem.name, claim.number)
            outcome = CallOutcome(Completion.LINE_DROPPED, detail=f"the call failed in the driver: {exc}")
        finally:
            beat.stop()
        self.calls += 1
        state = self.store.finish(claim, outcome, started, transcript if os.path.exists(transcript) else None)
        if state is None:
            log.warning("modem %s: lease on recipient %s was lost; result discarded",
                        modem.name, claim.recipient_id)
        return state


    def _reporter(self, modem: ModemConfig, claim: Claim):
        def progress(state: str, pages: int) -> None:
            try:
                self.store.progress(claim, state, pages)
            except Exception:   # bookkeeping only: the call goes on
                log.exception("modem %s: recording progress of recipient %s failed",
                              modem.name, claim.recipient_id)
        return progress


def _takes(sender, keyword: str) -> bool:
    """Whether ``sender`` takes ``keyword`` (senders may be older or simpler than the worker)."""
    try:
        parameters = inspect.signature(sender).parameters
    except (TypeError, ValueError):
        return False
    return keyword in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


class _Heartbeat:
    """Extends a claim's lease every third of its length until stopped."""

    def __init__(self, store: Store, claim: Claim, lease: float):
        self.store, self.claim, self.lease = store, claim, lease
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"lease-{claim.recipient_id}")
        self.lost = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self.lease / 3):
            try:
                if not self.store.heartbeat(self.claim, self.lease):
                    self.lost = True
                    return
            except Exception:
                log.exception("heartbeat for recipient %s failed", self.claim.recipient_id)
