"""The seam between the worker and a modem driver: one call, one :class:`CallOutcome`.

A sender is any callable ``send_fax(modem, number, tiff_path, transcript_path) -> CallOutcome``
(:class:`Sender`). It dials ``number`` on the modem ``modem`` describes, transmits every page of
the TIFF-F file, writes the session transcript to ``transcript_path`` and reports how the call
ended (a :class:`faxpipe.t30.Completion`) and which pages the receiver confirmed. It must not
raise for anything that happens on the line: those are completions. An exception means the
outcome is unknown; the worker then counts the attempt and retries.

A sender may also accept a keyword argument ``progress``: a callable ``progress(state, pages)``
it calls while the call runs — ``"dialing"`` when it dials, ``"transmitting"`` once the receiver
accepted the training and after each page it confirmed (``pages``: confirmed so far). The worker
records those as the recipient's ``dialing`` / ``transmitting`` state and ``pagesSent``.

The production sender is ``drivers.class1.send_fax`` (the Class 1 driver pumping
:mod:`faxpipe.t30`). faxpipe never imports ``drivers`` except lazily in ``faxpipe.cli`` and
``faxpipe.api``, so it is handed to the worker by ``faxpipe.cli.worker.modem_sender()`` (used by
``faxpipe serve`` and ``faxpipe worker``). :func:`class1_send` is only the worker's default when no
sender is given: it raises ``NotImplementedError``, and the worker then leaves the fax queued
(no attempt is counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol

from ..t30.completion import Completion, DeliveryError

if TYPE_CHECKING:
    from .config import ModemConfig


@dataclass(frozen=True)
class PageResult:
    """One page of one call: ``confirmed`` only when the receiver answered MCF (or PPS→MCF in
    ECM); ``result`` is the post-page response as heard (MCF, RTP, RTN, PIN…, or None)."""

    page: int
    confirmed: bool
    result: str | None = None


@dataclass(frozen=True)
class CallOutcome:
    completion: Completion
    pages: tuple[PageResult, ...] = ()
    remote_csid: str | None = None
    detail: str | None = None     # what the modem said, e.g. "BUSY", "+FHNG:50"
    pages_total: int | None = None

    @property
    def confirmed(self) -> int:
        """Pages the receiver confirmed, counted from the first: a gap ends the count."""
        return self.confirmed_from(1)

    def confirmed_from(self, first: int) -> int:
        """Pages confirmed in this call from page ``first`` of the document on (a retry sends
        only the pages earlier calls did not get confirmed): a gap ends the count."""
        confirmed = {p.page for p in self.pages if p.confirmed}
        count = 0
        while first + count in confirmed:
            count += 1
        return count

    def delivered(self, pages: int, already: int = 0) -> bool:
        """True only for a normal completion that confirmed every one of ``pages`` pages the
        ``already`` confirmed pages of earlier calls left."""
        return (self.completion is Completion.OK and pages > 0
                and already + self.confirmed_from(already + 1) == pages)

    def error(self, pages: int, already: int = 0) -> DeliveryError | None:
        """The contract's delivery error for this call (None when delivered). A call that
        claims success without confirming every page is an interrupted call, never a delivery."""
        if self.delivered(pages, already):
            return None
        return self.completion.delivery_error or DeliveryError(type="fax", code="interrupted",
                                                               retryable=True)


class Sender(Protocol):
    def __call__(self, modem: "ModemConfig", number: str, tiff_path: str,
                 transcript_path: str) -> CallOutcome: ...


Progress = Callable[[str, int], None]


def class1_send(modem: "ModemConfig", number: str, tiff_path: str, transcript_path: str) -> CallOutcome:
    """The worker's default sender: none. The real one, ``drivers.class1.send_fax``, is passed in
    by ``faxpipe.cli.worker.modem_sender()``; a worker built without it leaves its faxes queued."""
    raise NotImplementedError("no modem driver given to the worker "
                              "(faxpipe.cli.worker.modem_sender() provides drivers.class1.send_fax)")
