"""States of a recipient and of a fax (api-contract.md "The Fax resource").

Recipient: ``queued → dialing → transmitting → (will_retry →) delivered | failed | canceled``.
Fax: ``queued → sending → sent | partially_sent | failed | canceled``, derived from its
recipients, never stored (so it cannot disagree with them).
"""

from __future__ import annotations

from typing import Iterable

QUEUED, DIALING, TRANSMITTING, WILL_RETRY = "queued", "dialing", "transmitting", "will_retry"
DELIVERED, FAILED, CANCELED = "delivered", "failed", "canceled"

WAITING = (QUEUED, WILL_RETRY)            # may be claimed when due
IN_CALL = (DIALING, TRANSMITTING)         # held by a worker's lease
TERMINAL = (DELIVERED, FAILED, CANCELED)

FAX_TERMINAL = ("sent", "partially_sent", "failed", "canceled")


def fax_status(recipients: Iterable[dict]) -> str:
    """The fax's status from its recipients' ``state``, ``attempts`` and ``pages_sent``."""
    rows = list(recipients)
    states = [r["state"] for r in rows]
    if any(s not in TERMINAL for s in states):
        untouched = all(s == QUEUED and not r["attempts"] for s, r in zip(states, rows))
        return "queued" if untouched else "sending"
    if all(s == DELIVERED for s in states):
        return "sent"
    if all(s == CANCELED for s in states):
        return "canceled"
    if any(s == DELIVERED or r["pages_sent"] for s, r in zip(states, rows)):
        return "partially_sent"
    return "failed"
