"""Programs written by others, run as the far end of faxpipe's calls in the tests.

``start_spandsp_modem`` puts spandsp's T.31 Class 1 modem on a pseudo-terminal with spandsp's
own fax terminal at the other end of a simulated line (``spandsp_modem.c``, compiled on demand
by ``build.py``). How to drive it: ``tests/test_peer_spandsp.py``.
"""

from .build import PeerBuildError, PeerUnavailable, spandsp_modem_binary
from .spandsp import ModemResult, SpandspModem, parse_result, start_spandsp_modem

__all__ = [
    "ModemResult",
    "PeerBuildError",
    "PeerUnavailable",
    "SpandspModem",
    "parse_result",
    "spandsp_modem_binary",
    "start_spandsp_modem",
]
