"""How a fax call ended: one completion code per call, mapped onto the delivery errors of the API.

A call has exactly one :class:`Completion`. The engine reports it in its ``CallFinished`` action;
codes of phase A (busy, no answer …) are reported by the driver, which never starts the engine
for such calls, but they belong to the same family so the job layer maps every call in one place:
:data:`DELIVERY_ERRORS` gives the ``recipientStatus.error`` of api-contract.md ("Delivery errors":
``type`` ∈ line / fax / document / internal, the ``code``, and whether the call is retried).

The T.30 errors live here too (h11 ``_util.py`` keeps a Local/Remote pair the same way):
:class:`T30Error` is a :class:`faxpipe.errors.ProtocolError` carrying the completion code;
:class:`LocalProtocolError` means the program driving the engine fed it an event it cannot take in
its state; :class:`RemoteProtocolError` means the far end broke T.30; :class:`FrameError` means a
frame could not be parsed (bad length, FCS, address, control, unknown FCF, malformed FIF).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import ProtocolError


class Completion(enum.Enum):
    """Why a call ended (cf. spandsp ``t30_api.h`` T30_ERR_*, Class 2 +FHNG codes)."""

    OK = "all pages confirmed; call released normally"
    # Phase A — reported by the driver (the engine never sees a call that did not connect)
    BUSY = "the line was busy"
    NO_ANSWER = "no answer"
    NO_DIALTONE = "no dial tone"
    NO_CARRIER = "the call connected but no carrier was heard"
    # Phase B
    T1_EXPIRED = "no fax terminal identified itself within T1 (T.30 §5.4.3.1)"
    INCOMPATIBLE = "no common capabilities (rate, coding, width, or not ready to receive)"
    NO_RESPONSE = "a command was repeated 3 times without a response (T.30 §5.4.3.1, T4)"
    TRAINING_FAILED = "training failed at every common rate (FTT at the lowest)"
    # Phases C-D
    PAGE_REJECTED = "a page was rejected (RTN) more often than allowed"
    NO_PPM_RESPONSE = "no response to MPS / EOM / EOP repeated 3 times"
    T2_EXPIRED = "no command or page from the far end within T2"
    RECEIVER_NOT_READY = "the receiver stayed not ready (RNR) beyond T5 (T.30 Annex A)"
    # Any phase
    REMOTE_DCN = "the far end disconnected (DCN) before the end of the procedure"
    PROCEDURE_INTERRUPT = "the far end asked for a procedure interrupt (PIN / PIP)"
    LINE_DROPPED = "the line or carrier was lost"
    PROTOCOL_ERROR = "the far end broke the T.30 procedure"
    CANCELLED = "cancelled locally"

    @property
    def ok(self) -> bool:
        return self is Completion.OK

    @property
    def delivery_error(self) -> "DeliveryError | None":
        return DELIVERY_ERRORS[self]


@dataclass(frozen=True, kw_only=True)
class DeliveryError:
    """api-contract.md ``recipientStatus[].error``: type, code, retryable (detail is per call)."""

    type: str
    code: str
    retryable: bool


def _e(type_: str, code: str, retryable: bool) -> DeliveryError:
    return DeliveryError(type=type_, code=code, retryable=retryable)


#: Completion → delivery error of the HTTP contract (None: delivered). Busy, no answer and dropped
#: calls are retried (api-contract.md); so are failures a second attempt often cures (training,
#: a rejected page, an interrupted call). Incompatible capabilities and local cancels are not.
DELIVERY_ERRORS: dict[Completion, DeliveryError | None] = {
    Completion.OK: None,
    Completion.BUSY: _e("line", "busy", True),
    Completion.NO_ANSWER: _e("line", "no_answer", True),
    Completion.NO_DIALTONE: _e("line", "no_dialtone", True),
    Completion.NO_CARRIER: _e("line", "no_carrier", True),
    Completion.T1_EXPIRED: _e("fax", "not_a_fax_machine", True),
    Completion.INCOMPATIBLE: _e("fax", "negotiation_failed", False),
    Completion.NO_RESPONSE: _e("fax", "negotiation_failed", True),
    Completion.TRAINING_FAILED: _e("fax", "training_failed", True),
    Completion.PAGE_REJECTED: _e("fax", "page_rejected", True),
    Completion.NO_PPM_RESPONSE: _e("line", "call_dropped", True),
    Completion.T2_EXPIRED: _e("line", "call_dropped", True),
    Completion.RECEIVER_NOT_READY: _e("fax", "interrupted", True),
    Completion.REMOTE_DCN: _e("fax", "interrupted", True),
    Completion.PROCEDURE_INTERRUPT: _e("fax", "interrupted", True),
    Completion.LINE_DROPPED: _e("line", "call_dropped", True),
    Completion.PROTOCOL_ERROR: _e("fax", "interrupted", True),
    Completion.CANCELLED: _e("internal", "canceled", False),
}
assert set(DELIVERY_ERRORS) == set(Completion)


class T30Error(ProtocolError):
    """A T.30 failure; ``completion`` says how the call ends because of it."""

    def __init__(self, reason: str, *, completion: Completion = Completion.PROTOCOL_ERROR, code: str | None = None):
        super().__init__(reason, code=code)
        self.completion = completion


class FrameError(T30Error):
    """A frame that cannot be parsed: bad length, FCS, address, control field, FCF or FIF."""


class LocalProtocolError(T30Error):
    """The program driving the engine fed it an event its role and state do not allow."""

    def __init__(self, reason: str, *, role=None, state=None, event=None):
        super().__init__(reason, completion=Completion.CANCELLED)
        self.role, self.state, self.event = role, state, event


class RemoteProtocolError(T30Error):
    """The far end sent something T.30 does not allow in this role and state."""

    def __init__(self, reason: str, *, role=None, state=None, event=None):
        super().__init__(reason, completion=Completion.PROTOCOL_ERROR)
        self.role, self.state, self.event = role, state, event
