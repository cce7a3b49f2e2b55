"""The vocabulary of the T.30 engine's transition tables: roles, states and steps.

Split out of :mod:`.engine` so that :mod:`.engine` (phases B-D without error correction) and
:mod:`.ecm` (T.30 Annex A / T.4 Annex A, error correction mode) both write rows of the same
tables. A :class:`Step` names the handler that computes the actions and the branch it took; the
branches map to the next state (``SAME``: stay).
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class Role(enum.Enum):
    CALLING = "calling"      # dials, transmits the document
    ANSWERING = "answering"  # answers, receives it


class State(enum.Enum):
    IDLE = "phase A: not connected yet"
    WAIT_DIS = "calling: waiting for the DIS (T1)"
    WAIT_CFR = "calling: DCS and TCF sent, waiting for CFR / FTT (T4)"
    WAIT_PAGE_DATA = "calling: waiting for the caller's page data"
    SENT_MPS = "calling: page and MPS sent, waiting for MCF / RTP / RTN (T4)"
    SENT_EOM = "calling: page and EOM sent, waiting for MCF / RTP / RTN (T4)"
    SENT_EOP = "calling: page and EOP sent, waiting for MCF / RTP / RTN (T4)"
    ECM_SENT_PPS = "calling (ECM): partial page and PPS sent, waiting for MCF / PPR / RNR (T4)"
    ECM_SENT_CTC = "calling (ECM): CTC sent after 4 PPRs, waiting for CTR (T4)"
    ECM_SENT_EOR = "calling (ECM): EOR sent, waiting for ERR (T4)"
    ECM_SENT_RR = "calling (ECM): RR sent after RNR, waiting (T4; T5 bounds the whole wait)"
    WAIT_DCS = "answering: DIS sent, waiting for DCS (T4 repeats DIS, T1 gives up)"
    WAIT_TCF = "answering: DCS taken, receiving TCF (T2)"
    WAIT_PAGE = "answering: CFR or MCF sent, waiting for the page carrier (T2)"
    RECEIVING_PAGE = "answering: page carrier up"
    WAIT_COMMAND = "answering: waiting for a post-page command or a new DCS (T2)"
    ECM_WAIT_PPS = "answering (ECM): partial page received, waiting for PPS / EOR / CTC / RR (T2)"
    WAIT_DCN = "answering: last page confirmed, waiting for DCN (T2)"
    DONE = "phase E: call finished"


SAME = None  # a branch target meaning "stay in the current state"


class Step(NamedTuple):
    handler: str | None
    branches: dict


def go(state, handler: str | None = None) -> Step:
    return Step(handler, {"": state})


def fork(handler: str, **branches) -> Step:
    return Step(handler, branches)


STAY = go(SAME)
