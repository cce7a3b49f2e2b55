"""faxpipe.t30: the T.30 fax procedure (ITU-T T.30) without I/O.

* :mod:`.frames` — FCF codes (serial notation, X bit), DIS/DTC/DCS bit fields (T.30 Table 2),
  identities, capability negotiation and the rate fallback order.
* :mod:`.hdlc` — FCS-16, bit stuffing and flags (T.30 §5.3), an incremental deframer.
* :mod:`.events` — the events the engine takes and the actions it returns.
* :mod:`.engine` — both stations' transitions as tables; timers on time passed in.
* :mod:`.completion` — one completion code per call and its delivery error; the T.30 errors.
"""

from .completion import (DELIVERY_ERRORS, Completion, DeliveryError, FrameError, LocalProtocolError,
                         RemoteProtocolError, T30Error)
from .engine import Engine, Role, State, StationConfig, Timers, copy_quality_ok, describe, tcf_verdict
from .frames import DCS, DIS, FALLBACK, FCF, Frame, Length, Modems, PageParams, Rate, Width, negotiate

__all__ = [
    "Engine", "Role", "State", "StationConfig", "Timers", "describe", "tcf_verdict", "copy_quality_ok",
    "Completion", "DeliveryError", "DELIVERY_ERRORS", "T30Error", "FrameError", "LocalProtocolError",
    "RemoteProtocolError",
    "FCF", "Frame", "DIS", "DCS", "Rate", "Modems", "Width", "Length", "PageParams", "FALLBACK", "negotiate",
]
