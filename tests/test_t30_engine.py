"""faxpipe.t30.engine: two engines back to back (tests/t30_link.py) with injected time.

Every branch of the issue: 1-page and multi-page calls (MPS, EOM, EOP), FTT and fallback, RTN and
resend, lost frames repeated on T4 and the give-up after 3 tries, T1 expiry, DCN in each phase, the
copy-quality check, and the rule that a page is never confirmed without MCF (or RTP).
"""

from __future__ import annotations

import copy
import os
import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faxpipe.codec import DecodeStats
from faxpipe.t30.completion import (DELIVERY_ERRORS, Completion, LocalProtocolError, RemoteProtocolError,
                                    T30Error)
from faxpipe.t30.engine import (ANY_STATE, TRANSITIONS, Engine, Role, State, StationConfig, Timers,
                                copy_quality_ok, describe, handlers, tcf_verdict)
from faxpipe.t30.events import (Abort, BadFrame, CallFinished, CarrierDown, FrameReceived, Hangup,
                                LineDropped, Modulation, PageReceived, PageResult, PageSupplied, ReceiveFrames,
                                ReceivePage, ReceiveTcf, RequestPage, SendFrames, SendPage, SendTcf, Start,
                                TcfReceived, TimePassed)
from faxpipe.t30.frames import DCS, DIS, FALLBACK, FCF, Frame, Modems, Rate
from t30_link import Link, sample_page

T4 = Timers().t4


def call(documents=None, *, caller=None, answerer=None, **faults) -> Link:
    link = Link(Engine(Role.CALLING, caller or StationConfig(ident="+1 555 0100")),
                Engine(Role.ANSWERING, answerer or StationConfig(ident="+1 555 0199")),
                documents if documents is not None else [[sample_page(1)]])
    for name, value in faults.items():
        setattr(link, name, value)
    return link.run()


def confirmed(side) -> list[int]:
    return [r.number for r in side.results if r.confirmed]


def assert_pages_arrived(link, pages):
    accepted = {r.number for r in link.b.results if r.confirmed}
    got = {n: page for n, page, _ in link.b.received if n in accepted}
    assert sorted(got) == list(range(1, len(pages) + 1))
    for n, page in enumerate(pages, 1):
        assert got[n] == page, f"page {n} differs"


# --- whole calls ----------------------------------------------------------------------------------

def test_one_page_call():
    link = call()
    assert link.a.finished.completion is Completion.OK and link.a.finished.pages == 1
    assert link.b.finished.completion is Completion.OK and link.b.finished.pages == 1
    assert link.a.sent_frames == ["TSI", "DCS", "EOP", "DCN"]
    assert link.b.sent_frames == ["CSI", "DIS", "CFR", "MCF"]
    assert link.a.engine.remote_ident == "+1 555 0199" and link.b.engine.remote_ident == "+1 555 0100"
    assert link.a.finished.delivery_error is None
    assert link.a.hung_up and link.b.hung_up
    assert_pages_arrived(link, [sample_page(1)])
    dcs = link.a.negotiated[0].dcs
    assert dcs.rate is Rate.V17_14400 and dcs.coding == "mr" and dcs == link.b.negotiated[0].dcs


def test_frames_carry_the_x_bit_of_the_caller():
    link = Link(Engine(Role.CALLING), Engine(Role.ANSWERING), [[sample_page(1)]])
    sent = []
    original = link.drain

    def spy(side):
        for act in side.queue:
            if isinstance(act, SendFrames):
                sent.append((side.name, [(f.fcf.name, f.x) for f in act.frames]))
        return original(side)

    link.drain = spy
    link.run()
    for name, frames in sent:
        for fcf, x in frames:
            assert x == (name == "caller"), (name, fcf)


def test_multi_page_call_with_mps():
    pages = [sample_page(n) for n in (1, 2, 3)]
    link = call([pages])
    assert link.a.sent_frames == ["TSI", "DCS", "MPS", "MPS", "EOP", "DCN"]
    assert [r.response for r in link.a.results] == [FCF.MCF] * 3
    assert confirmed(link.a) == [1, 2, 3] and link.a.finished.pages == 3 and link.b.finished.pages == 3
    assert len(link.a.negotiated) == 1  # MPS: same parameters, no new DCS / TCF
    assert_pages_arrived(link, pages)


def test_eom_goes_back_to_phase_b():
    docs = [[sample_page(1), sample_page(2)], [sample_page(3)]]
    link = call(docs)
    assert link.a.sent_frames == ["TSI", "DCS", "MPS", "EOM", "TSI", "DCS", "EOP", "DCN"]
    assert link.b.sent_frames == ["CSI", "DIS", "CFR", "MCF", "MCF", "CSI", "DIS", "CFR", "MCF"]
    assert link.a.finished.completion is Completion.OK and link.a.finished.pages == 3
    assert_pages_arrived(link, [p for d in docs for p in d])


def test_pages_are_coded_as_negotiated():
    # a receiver that wants 20 ms per line and only does MH at standard resolution
    answerer = StationConfig(capabilities=DIS(two_d=False, fine=False, min_scan_code=0))
    link = Link(Engine(Role.CALLING), Engine(Role.ANSWERING, answerer), [[sample_page(1, yres=98.0)]])
    asked = []
    original = link.feed

    def spy(side, event):
        if isinstance(event, PageSupplied):
            asked.append(side.engine._on_request_page(None)[1][0].params)
        return original(side, event)

    link.feed = spy
    link.run()
    (params,) = asked
    assert (params.coding, params.min_bits, params.resolution.name) == ("mh", 288, "STANDARD")
    assert link.a.finished.completion is Completion.OK
    assert_pages_arrived(link, [sample_page(1, yres=98.0)])


# --- training -------------------------------------------------------------------------------------

def test_ftt_then_fallback():
    link = call(bad_tcf_rates={Rate.V17_14400, Rate.V17_12000})
    rates = [n.dcs.rate for n in link.a.negotiated]
    assert rates == [Rate.V17_14400, Rate.V17_12000, Rate.V17_9600]
    assert link.b.sent_frames == ["CSI", "DIS", "FTT", "FTT", "CFR", "MCF"]
    assert link.a.sent_frames == ["TSI", "DCS"] * 3 + ["EOP", "DCN"]
    assert link.a.finished.completion is Completion.OK
    assert link.b.negotiated[-1].dcs.rate is Rate.V17_9600


def test_fallback_follows_the_order_down_to_2400_then_gives_up():
    link = call(bad_tcf_rates=set(Rate))
    assert [n.dcs.rate for n in link.a.negotiated] == list(FALLBACK)
    assert link.a.finished.completion is Completion.TRAINING_FAILED and link.a.finished.pages == 0
    assert link.a.sent_frames[-1] == "DCN"
    assert link.a.finished.delivery_error.code == "training_failed"
    assert link.b.finished.completion is Completion.REMOTE_DCN


def test_tcf_retrains_with_long_training_and_pages_use_short():
    link = Link(Engine(Role.CALLING), Engine(Role.ANSWERING), [[sample_page(1)]])
    link.bad_tcf_rates = {Rate.V17_14400}
    seen = []
    original = link.deliver

    def spy(sender, act):
        if isinstance(act, (SendTcf, SendPage)):
            seen.append((type(act).__name__, act.modulation))
        return original(sender, act)

    link.deliver = spy
    link.run()
    assert seen == [("SendTcf", Modulation(rate=Rate.V17_14400, long_training=True)),
                    ("SendTcf", Modulation(rate=Rate.V17_12000, long_training=True)),
                    ("SendPage", Modulation(rate=Rate.V17_12000))]
    assert [m.class1_code for _, m in seen] == [145, 121, 122]


def test_tcf_zero_run_rule():
    rate = Rate.V29_9600  # 1 s = 1 200 octets
    assert tcf_verdict(bytes(1800), rate) is None
    assert tcf_verdict(b"\xff" * 50 + bytes(1750), rate) is None     # leading ones tolerated
    assert "zero run" in tcf_verdict(bytes(1100), rate)
    noisy = bytearray(1800)
    noisy[600] = 1
    assert "zero run" in tcf_verdict(bytes(noisy), rate)             # two 0.5-0.75 s runs
    assert "non-zero" in tcf_verdict(b"\x01" * 400 + bytes(1250), rate)
    assert tcf_verdict(b"", rate)


def test_v29_receiver_gets_v29():
    answerer = StationConfig(capabilities=DIS(modems=Modems.V27TER_V29))
    link = call(answerer=answerer, bad_tcf_rates={Rate.V29_9600})
    assert [n.dcs.rate for n in link.a.negotiated] == [Rate.V29_9600, Rate.V29_7200]
    assert link.a.finished.completion is Completion.OK


# --- phase D: RTN, RTP, copy quality ---------------------------------------------------------------

def garble(data: bytes) -> bytes:
    """Line noise: one bit flipped every 40 octets — most rows of a test page go bad."""
    return bytes(b ^ (0x10 if i % 40 == 5 else 0) for i, b in enumerate(data))


def test_copy_quality_failure_gives_rtn_and_the_page_is_resent():
    pages = [sample_page(1), sample_page(2)]
    link = call([pages], page_faults={(1, 1): garble})
    assert [(r.number, r.response, r.confirmed) for r in link.a.results] == [
        (1, FCF.RTN, False), (1, FCF.MCF, True), (2, FCF.MCF, True)]
    assert [(r.number, r.response) for r in link.b.results] == [(1, FCF.RTN), (1, FCF.MCF), (2, FCF.MCF)]
    bad_stats = link.b.received[0][2]
    assert bad_stats.bad_rows > 0
    # after RTN: retrain (DCS + TCF) one rate lower, then the page again
    assert [n.dcs.rate for n in link.a.negotiated] == [Rate.V17_14400, Rate.V17_12000]
    assert link.a.sent_frames == ["TSI", "DCS", "MPS", "TSI", "DCS", "MPS", "EOP", "DCN"]
    assert link.a.finished.completion is Completion.OK and link.a.finished.pages == 2
    assert link.b.finished.pages == 2
    assert_pages_arrived(link, pages)


def test_rtn_resend_is_bounded():
    link = call([[sample_page(1)]], page_faults={(1, k): garble for k in range(1, 10)})
    assert [r.response for r in link.a.results] == [FCF.RTN] * 3
    assert link.page_sends[1] == 3
    assert link.a.finished.completion is Completion.PAGE_REJECTED and link.a.finished.pages == 0
    assert link.a.finished.delivery_error.code == "page_rejected"
    assert link.b.finished.completion is Completion.REMOTE_DCN and link.b.finished.pages == 0


def test_copy_quality_rule():
    def stats(rows, bad, run):
        return DecodeStats(rows=rows, bad_rows=bad, consecutive_bad_rows=run, terminated=True, bytes_used=0)

    assert copy_quality_ok(stats(100, 5, 5))
    assert not copy_quality_ok(stats(100, 6, 1))
    assert not copy_quality_ok(stats(100, 3, 6))
    assert not copy_quality_ok(stats(0, 0, 0))
    assert copy_quality_ok(stats(100, 20, 20), min_good_percent=80, max_consecutive_bad=20)


def drive_caller_to_sent(following="page") -> Engine:
    e = Engine(Role.CALLING)
    e.handle(Start())
    e.handle(FrameReceived(frame=DIS().frame()))
    e.handle(FrameReceived(frame=Frame(fcf=FCF.CFR)))
    e.handle(PageSupplied(data=b"\x00\x10", following=following))
    return e


def test_rtp_confirms_the_page_and_retrains():
    e = drive_caller_to_sent("page")
    assert e.state is State.SENT_MPS
    actions = e.handle(FrameReceived(frame=Frame(fcf=FCF.RTP)))
    assert actions[0] == PageResult(number=1, response=FCF.RTP, confirmed=True)
    assert [type(a).__name__ for a in actions[1:]] == ["Negotiated", "SendFrames", "SendTcf", "ReceiveFrames"]
    assert e.state is State.WAIT_CFR and e.pages == 1
    assert e.handle(FrameReceived(frame=Frame(fcf=FCF.CFR)))[0].number == 2


def test_pin_interrupts():
    e = drive_caller_to_sent("end")
    actions = e.handle(FrameReceived(frame=Frame(fcf=FCF.PIN)))
    assert actions[0].frames[0].fcf is FCF.DCN
    assert actions[-1].completion is Completion.PROCEDURE_INTERRUPT and actions[-1].pages == 0


def test_pri_eop_is_answered_like_eop():
    b = Engine(Role.ANSWERING)
    b.handle(Start())
    b.handle(FrameReceived(frame=DCS(rate=Rate.V17_14400).frame()))
    b.handle(TcfReceived(data=bytes(2700)))
    b.handle(PageReceived(stats=DecodeStats(rows=10, bad_rows=0, consecutive_bad_rows=0, terminated=True,
                                            bytes_used=0)))
    actions = b.handle(FrameReceived(frame=Frame(fcf=FCF.PRI_EOP, x=True)))
    assert actions[1].frames[0].fcf is FCF.MCF and b.state is State.WAIT_DCN


# --- lost frames, T4, T1, T2 ----------------------------------------------------------------------

def test_lost_mps_is_repeated_on_t4():
    pages = [sample_page(1), sample_page(2)]
    link = call([pages], drop={("caller", "MPS"): 1})
    assert link.a.sent_frames == ["TSI", "DCS", "MPS", "MPS", "EOP", "DCN"]
    assert link.clock == T4
    assert link.a.finished.completion is Completion.OK and link.b.finished.pages == 2
    assert_pages_arrived(link, pages)


def test_lost_mcf_the_receiver_answers_the_repeat_without_counting_twice():
    pages = [sample_page(1), sample_page(2)]
    link = call([pages], drop={("answerer", "MCF"): 1})
    assert link.a.sent_frames == ["TSI", "DCS", "MPS", "MPS", "EOP", "DCN"]
    assert link.b.sent_frames == ["CSI", "DIS", "CFR", "MCF", "MCF", "MCF"]
    assert [r.number for r in link.b.results] == [1, 2]
    assert link.a.finished.pages == 2 and link.b.finished.pages == 2


def test_lost_cfr_the_caller_retrains_and_the_receiver_follows():
    link = call(drop={("answerer", "CFR"): 1})
    assert link.a.sent_frames == ["TSI", "DCS", "TSI", "DCS", "EOP", "DCN"]
    assert link.b.sent_frames == ["CSI", "DIS", "CFR", "CFR", "MCF"]
    assert link.a.finished.completion is Completion.OK


def test_lost_dcs_the_receiver_repeats_dis():
    link = call(drop={("caller", "DCS"): 1})
    assert link.a.finished.completion is Completion.OK
    assert link.b.sent_frames.count("DIS") == 2


def test_corrupted_frame_counts_as_lost():
    link = call(corrupt={("caller", "EOP"): 1})
    assert link.a.sent_frames == ["TSI", "DCS", "EOP", "EOP", "DCN"]
    assert link.a.finished.completion is Completion.OK


def test_no_response_to_eop_gives_up_after_3_and_never_confirms():
    # the receiver's T2 (7 s) ends its wait first; it hangs up without the line telling the caller
    link = call(drop={("caller", "EOP"): 3}, notify_hangup=False)
    assert link.b.finished.completion is Completion.T2_EXPIRED
    assert link.a.sent_frames == ["TSI", "DCS", "EOP", "EOP", "EOP", "DCN"]
    assert link.clock == 3 * T4
    assert link.a.finished.completion is Completion.NO_PPM_RESPONSE
    assert link.a.finished.pages == 0 and confirmed(link.a) == []
    assert link.a.finished.delivery_error.code == "call_dropped"


def test_no_response_to_dcs_gives_up_after_3():
    link = call(drop={("caller", "DCS"): 10})
    assert link.a.sent_frames.count("DCS") == 3
    assert link.a.finished.completion is Completion.NO_RESPONSE
    assert link.a.finished.delivery_error.code == "negotiation_failed"
    assert link.b.finished.completion is Completion.REMOTE_DCN


def test_t1_expiry_no_fax_machine_answers():
    link = Link(Engine(Role.CALLING), None).run()
    assert link.a.finished.completion is Completion.T1_EXPIRED
    assert link.clock == Timers().t1
    assert link.a.sent_frames == []
    err = link.a.finished.delivery_error
    assert (err.type, err.code, err.retryable) == ("fax", "not_a_fax_machine", True)


def test_answering_t1_repeats_dis_until_t1():
    link = Link(None, Engine(Role.ANSWERING)).run()
    assert link.b.finished.completion is Completion.T1_EXPIRED
    assert link.clock == Timers().t1
    assert link.b.sent_frames.count("DIS") == Timers().t1 // T4 + 1


def test_receiver_t2_expires_when_the_sender_vanishes():
    link = call(drop={("caller", "EOP"): 5, ("caller", "DCN"): 1}, notify_hangup=False)
    assert link.b.finished.completion is Completion.T2_EXPIRED
    assert link.b.finished.pages == 0


def test_line_cut_after_eop_is_not_a_confirmed_page():
    link = call(cut_after=("caller", "EOP"))
    assert link.a.finished.completion is Completion.LINE_DROPPED and link.a.finished.pages == 0


def test_line_dropped_after_final_mcf_is_fine_for_the_receiver():
    link = call(drop={("caller", "DCN"): 1})
    assert link.b.finished.completion is Completion.OK and link.b.finished.pages == 1


# --- DCN in each phase ----------------------------------------------------------------------------

def snapshots(side_name: str, states) -> dict:
    """Engines frozen in each state, taken from a normal three-page call."""
    found = {}
    link = Link(Engine(Role.CALLING), Engine(Role.ANSWERING), [[sample_page(1), sample_page(2)], [sample_page(3)]])
    for state in states:
        link.watch(side_name, state, lambda lk, side, s=state: found.setdefault(s, copy.deepcopy(side.engine)))
    link.run()
    assert set(found) == set(states)
    return found


CALLER_STATES = [State.WAIT_DIS, State.WAIT_CFR, State.SENT_MPS, State.SENT_EOM, State.SENT_EOP]
ANSWERER_STATES = [State.WAIT_DCS, State.WAIT_TCF, State.WAIT_PAGE, State.RECEIVING_PAGE, State.WAIT_COMMAND]


@pytest.mark.parametrize("state", CALLER_STATES)
def test_dcn_in_each_phase_calling(state):
    engine = snapshots("caller", CALLER_STATES)[state]
    actions = engine.handle(FrameReceived(frame=Frame(fcf=FCF.DCN)))
    assert [type(a) for a in actions] == [Hangup, CallFinished]
    assert actions[-1].completion is Completion.REMOTE_DCN
    assert actions[-1].delivery_error.code == "interrupted"
    assert engine.state is State.DONE


@pytest.mark.parametrize("state", ANSWERER_STATES)
def test_dcn_in_each_phase_answering(state):
    engine = snapshots("answerer", ANSWERER_STATES)[state]
    actions = engine.handle(FrameReceived(frame=Frame(fcf=FCF.DCN, x=True)))
    assert actions[-1].completion is Completion.REMOTE_DCN and engine.state is State.DONE


def test_dcn_after_the_last_mcf_is_ok():
    engine = snapshots("answerer", [State.WAIT_DCN])[State.WAIT_DCN]
    actions = engine.handle(FrameReceived(frame=Frame(fcf=FCF.DCN, x=True)))
    assert actions[-1].completion is Completion.OK and actions[-1].pages == 3


def test_receiver_aborts_mid_document():
    pages = [sample_page(1), sample_page(2), sample_page(3)]
    fired = []

    def abort_on_last_page(lk, side):
        fired.append(True)
        lk.abort(lk.b)  # the receiver's operator cancels: it sends DCN

    link = Link(Engine(Role.CALLING), Engine(Role.ANSWERING), [pages])
    link.watch("caller", State.SENT_EOP, abort_on_last_page)  # page 3 and EOP are on their way
    link.run()
    assert fired
    assert link.b.finished.completion is Completion.CANCELLED and link.b.sent_frames[-1] == "DCN"
    assert link.a.finished.completion is Completion.REMOTE_DCN
    assert link.a.finished.pages == 2 and confirmed(link.a) == [1, 2]


# --- refusals ---------------------------------------------------------------------------------------

def test_receiver_not_ready_is_incompatible():
    link = call(answerer=StationConfig(capabilities=DIS(ready_to_receive=False)))
    assert link.a.finished.completion is Completion.INCOMPATIBLE and link.a.sent_frames == ["DCN"]
    assert not link.a.finished.delivery_error.retryable


def test_polling_is_refused():
    e = Engine(Role.CALLING)
    e.handle(Start())
    actions = e.handle(FrameReceived(frame=DIS(ready_to_transmit=True).frame(dtc=True)))
    assert actions[0].frames[0].fcf is FCF.DCN and actions[-1].completion is Completion.INCOMPATIBLE


def test_receiver_refuses_a_dcs_it_did_not_offer():
    b = Engine(Role.ANSWERING, StationConfig(capabilities=DIS(modems=Modems.V27TER_V29)))
    b.handle(Start())
    actions = b.handle(FrameReceived(frame=DCS(rate=Rate.V17_14400).frame()))
    assert actions[0].frames[0].fcf is FCF.DCN and actions[-1].completion is Completion.INCOMPATIBLE


def test_malformed_dis_and_dcs_end_the_call_cleanly():
    a = Engine(Role.CALLING)
    a.handle(Start())
    actions = a.handle(FrameReceived(frame=Frame(fcf=FCF.DIS, fif=b"\x00")))
    assert actions[-1].completion is Completion.PROTOCOL_ERROR
    b = Engine(Role.ANSWERING)
    b.handle(Start())
    actions = b.handle(FrameReceived(frame=Frame(fcf=FCF.DCS, fif=b"\x00\x02\x60", x=True)))
    assert actions[-1].completion is Completion.PROTOCOL_ERROR


# --- the engine's contract --------------------------------------------------------------------------

def test_illegal_local_event_names_role_state_and_event():
    e = Engine(Role.CALLING)
    with pytest.raises(LocalProtocolError) as info:
        e.handle(PageSupplied(data=b"\x01"))
    assert (info.value.role, info.value.state, info.value.event) == (Role.CALLING, State.IDLE, "PageSupplied")
    assert "calling" in str(info.value) and "IDLE" in str(info.value) and "PageSupplied" in str(info.value)
    assert isinstance(info.value, T30Error)


def test_unexpected_remote_frame_is_a_remote_protocol_error():
    e = Engine(Role.CALLING)
    e.handle(Start())
    with pytest.raises(RemoteProtocolError, match="WAIT_DIS.*frame:MCF"):
        e.handle(FrameReceived(frame=Frame(fcf=FCF.MCF)))
    assert e.state is State.WAIT_DIS  # nothing changed; the driver may Abort
    actions = e.handle(Abort(completion=Completion.PROTOCOL_ERROR))
    assert actions[0].frames[0].fcf is FCF.DCN and actions[-1].completion is Completion.PROTOCOL_ERROR


def test_frames_before_start_are_refused():
    with pytest.raises(RemoteProtocolError):
        Engine(Role.ANSWERING).handle(FrameReceived(frame=Frame(fcf=FCF.DCN)))
    actions = Engine(Role.ANSWERING).handle(Abort())
    assert [type(a) for a in actions] == [Hangup, CallFinished]


def test_done_takes_only_line_noise():
    link = call()
    e = link.a.engine
    assert e.handle(TimePassed(ms=100_000)) == []
    assert e.handle(LineDropped()) == [] and e.handle(CarrierDown()) == []
    with pytest.raises(LocalProtocolError):
        e.handle(Start())
    with pytest.raises(RemoteProtocolError):
        e.handle(FrameReceived(frame=Frame(fcf=FCF.MCF)))


def test_bad_frame_and_carrier_noise_change_nothing():
    e = Engine(Role.CALLING)
    e.handle(Start())
    assert e.handle(BadFrame(reason="FCS")) == [] and e.state is State.WAIT_DIS
    assert e.next_timeout_ms == Timers().t1
    assert e.handle(TimePassed(ms=1000)) == [] and e.next_timeout_ms == Timers().t1 - 1000


def test_events_and_actions_are_frozen_keyword_only_and_checked():
    with pytest.raises(TypeError):
        TimePassed(5)
    with pytest.raises(ValueError):
        TimePassed(ms=-1)
    with pytest.raises(ValueError):
        PageSupplied(data=b"x", following="later")
    with pytest.raises(ValueError):
        PageSupplied(data=b"")
    with pytest.raises(TypeError):
        FrameReceived(frame=b"\xff\x13\x84")
    with pytest.raises(ValueError):
        PageReceived(stats=object())
    with pytest.raises(ValueError):
        SendFrames(frames=[Frame(fcf=FCF.CSI), Frame(fcf=FCF.DIS)])  # two final frames
    with pytest.raises(ValueError):
        SendFrames(frames=[])
    with pytest.raises(ValueError):
        SendFrames(frames=[Frame(fcf=FCF.DIS, final=False)])
    with pytest.raises(dataclasses.FrozenInstanceError):
        Start().x = 1
    t = TimePassed(ms=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.ms = 4
    with pytest.raises(TypeError):
        Engine(Role.CALLING).handle("Start")


def test_config_refuses_t6_without_ecm_and_bad_identities():
    StationConfig(capabilities=DIS(ecm=True, t6=True))   # ECM is carried out (faxpipe.t30.ecm)
    with pytest.raises(ValueError, match="ECM"):
        StationConfig(capabilities=DIS(t6=True))
    with pytest.raises(ValueError, match="256 or 64"):
        StationConfig(ecm_frame_size=128)
    with pytest.raises(ValueError):
        StationConfig(ident="not a number")


def test_action_details():
    e = Engine(Role.CALLING, StationConfig(ident="1"))
    assert e.handle(Start()) == [ReceiveFrames(timeout_ms=Timers().t1)]
    actions = e.handle(FrameReceived(frame=DIS(modems=Modems.V27TER_V29).frame()))
    tcf = actions[2]
    assert isinstance(tcf, SendTcf) and tcf.octets == 1800 and tcf.modulation.class1_code == 96
    assert actions[3] == ReceiveFrames(timeout_ms=T4)
    b = Engine(Role.ANSWERING)
    b.handle(Start())
    got = b.handle(FrameReceived(frame=DCS(rate=Rate.V29_9600, fine=True, two_d=True).frame()))
    assert got[-1] == ReceiveTcf(modulation=Modulation(rate=Rate.V29_9600, long_training=True),
                                 timeout_ms=Timers().t2)
    got = b.handle(TcfReceived(data=bytes(1800)))
    assert got[0].frames[0].fcf is FCF.CFR and isinstance(got[1], ReceivePage)
    assert got[1].params.coding == "mr" and got[1].modulation.class1_code == 96
    assert isinstance(e.handle(FrameReceived(frame=Frame(fcf=FCF.CFR)))[0], RequestPage)


def test_tables_are_consistent():
    for name in handlers():
        assert hasattr(Engine, f"_on_{name}"), name
    for role, rows in TRANSITIONS.items():
        assert set(rows) >= {State.IDLE, State.DONE}
        text = describe(role)
        for state in rows:
            assert state.name in text
    assert "frame:DCN" in ANY_STATE
    assert set(DELIVERY_ERRORS) == set(Completion)


def test_delivery_error_mapping():
    codes = {c: (e.type, e.code) if e else None for c, e in DELIVERY_ERRORS.items()}
    assert codes[Completion.OK] is None
    assert codes[Completion.BUSY] == ("line", "busy")
    assert codes[Completion.NO_ANSWER] == ("line", "no_answer")
    assert codes[Completion.T1_EXPIRED] == ("fax", "not_a_fax_machine")
    assert codes[Completion.TRAINING_FAILED] == ("fax", "training_failed")
    assert codes[Completion.PAGE_REJECTED] == ("fax", "page_rejected")
    assert codes[Completion.REMOTE_DCN] == ("fax", "interrupted")
    assert codes[Completion.LINE_DROPPED] == ("line", "call_dropped")
    assert not DELIVERY_ERRORS[Completion.CANCELLED].retryable


def test_the_engine_never_reads_a_clock(monkeypatch):
    import time

    def boom(*a, **k):
        raise AssertionError("the engine read a clock or slept")

    for name in ("time", "monotonic", "perf_counter", "sleep", "time_ns", "monotonic_ns"):
        monkeypatch.setattr(time, name, boom)
    link = call([[sample_page(1), sample_page(2)]], drop={("caller", "MPS"): 1}, bad_tcf_rates={Rate.V17_14400})
    assert link.a.finished.completion is Completion.OK


# --- randomised faults: whatever happens, no page is confirmed without MCF -------------------------

FRAME_NAMES = ["DIS", "DCS", "TSI", "CFR", "FTT", "MPS", "EOP", "EOM", "MCF", "RTN", "DCN", "CSI"]


@settings(max_examples=int(os.environ.get("T30_FAULT_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(drops=st.dictionaries(st.tuples(st.sampled_from(["caller", "answerer"]), st.sampled_from(FRAME_NAMES)),
                             st.integers(1, 4), max_size=3),
       corrupt=st.dictionaries(st.tuples(st.sampled_from(["caller", "answerer"]), st.sampled_from(FRAME_NAMES)),
                               st.integers(1, 2), max_size=2),
       bad_rates=st.sets(st.sampled_from(list(Rate)), max_size=8),
       bad_pages=st.sets(st.tuples(st.integers(1, 3), st.integers(1, 3)), max_size=3),
       npages=st.integers(1, 3))
def test_faults_never_confirm_a_page_without_mcf(drops, corrupt, bad_rates, bad_pages, npages):
    pages = [sample_page(n, height=24) for n in range(1, npages + 1)]
    link = call([pages], drop=dict(drops), corrupt=dict(corrupt), bad_tcf_rates=set(bad_rates),
                page_faults={k: garble for k in bad_pages})
    a, b = link.a, link.b
    assert a.finished is not None and b.finished is not None
    for r in a.results:
        assert r.confirmed == (r.response in (FCF.MCF, FCF.RTP))
    assert a.finished.pages == len(confirmed(a)) == len(set(confirmed(a)))
    # every page the sender counts was accepted by the receiver
    assert set(confirmed(a)) <= {r.number for r in b.results if r.confirmed}
    if a.finished.completion is Completion.OK:
        assert a.finished.pages == npages
        assert_pages_arrived(link, pages)
    else:
        assert a.finished.pages < npages or a.finished.completion in (Completion.LINE_DROPPED,
                                                                       Completion.REMOTE_DCN)
