"""faxpipe.t30.ecm: error correction mode (T.30 Annex A) with two engines back to back
(tests/t30_link.py), every branch: partial pages (PPS-NULL), PPR with specific bad frames and the
resend of exactly those, 4 PPRs → CTC / CTR at a lower rate, EOR / ERR, RNR / RR and T5, lost PPS
and lost MCF repeated, PPS-MPS / -EOM / -EOP, and the frame / bitmap helpers."""

from __future__ import annotations

import pytest

from faxpipe.t30 import hdlc
from faxpipe.t30.completion import Completion
from faxpipe.t30.ecm import parse_ppm, ppr_fif, ppr_frames, split_page
from faxpipe.t30.engine import Engine, Role, State, StationConfig, Timers
from faxpipe.t30.events import LocalBusy, Modulation, SendBlock
from faxpipe.t30.frames import DCS, DIS, FCF, Rate, ctc_fif, negotiate, rate_from_ctc
from t30_link import Link, sample_page

ECM = DIS(ecm=True, t6=True)


def ecm_call(documents=None, *, caller=None, answerer=None, run=True, **faults) -> Link:
    link = Link(Engine(Role.CALLING, StationConfig(**{"ident": "+1 555 0100", "capabilities": ECM, "coding": "mmr",
                                                      **(caller or {})})),
                Engine(Role.ANSWERING, StationConfig(**{"ident": "+1 555 0199", "capabilities": ECM,
                                                        **(answerer or {})})),
                documents if documents is not None else [[sample_page(1)]])
    for name, value in faults.items():
        setattr(link, name, value)
    return link.run() if run else link


def arrived(link, pages) -> None:
    accepted = {r.number for r in link.b.results if r.confirmed}
    got = {n: page for n, page, _ in link.b.received if n in accepted}
    assert sorted(got) == list(range(1, len(pages) + 1))
    for n, page in enumerate(pages, 1):
        assert got[n] == page, f"page {n} differs"


def pps(link) -> list[tuple]:
    """(post-page message, page, block, frames) of every PPS the caller sent."""
    out = []
    for line in link.trace:
        if "caller   -> PPS" in line:
            fif = bytes.fromhex(line.split("PPS X ")[1])
            out.append(((parse_ppm(fif[0]) or "NULL") if fif[0] else "NULL", fif[1], fif[2], fif[3] + 1))
    return [(getattr(p, "name", p), *rest) for p, *rest in out]


def test_ecm_call_uses_mmr_without_minimum_scan_time():
    pages = [sample_page(1), sample_page(2)]
    link = ecm_call([pages])
    dcs = link.a.negotiated[0].dcs
    assert dcs.ecm and dcs.coding == "mmr" and dcs.min_bits == 0 and dcs.params.min_bits == 0
    assert link.a.sent_frames == ["TSI", "DCS", "PPS", "PPS", "DCN"]
    assert link.b.sent_frames == ["CSI", "DIS", "CFR", "MCF", "MCF"]
    assert pps(link)[0][0] == "MPS" and pps(link)[1][0] == "EOP"
    assert link.a.finished.completion is Completion.OK and link.b.finished.pages == 2
    arrived(link, pages)


def test_no_ecm_on_one_side_falls_back_to_mr_and_scan_time():
    link = ecm_call(answerer={"capabilities": DIS(min_scan_code=0)})
    dcs = link.a.negotiated[0].dcs
    assert not dcs.ecm and dcs.coding == "mr" and dcs.min_bits == 288
    assert link.a.sent_frames[-2:] == ["EOP", "DCN"] and link.a.finished.completion is Completion.OK
    # ECM off by policy on our side: same fall-back
    link = ecm_call(caller={"ecm": False})
    assert not link.a.negotiated[0].dcs.ecm and link.a.negotiated[0].dcs.coding == "mr"


def test_prefer_orders_codings_by_measured_size():
    dcs = negotiate(ECM, ECM, coding="mmr", ecm=True, prefer=("mr", "mmr", "mh"))
    assert dcs.coding == "mr" and dcs.ecm and dcs.min_bits == 0
    assert negotiate(ECM, DIS(), coding="mmr", ecm=True, prefer=("mmr", "mh", "mr")).coding == "mh"


def test_partial_pages_pps_null_then_pps_eop():
    page = sample_page(1, height=1500)   # several KB of MMR: > 256 frames of 64 octets
    link = ecm_call([[page]], caller={"ecm_frame_size": 64})
    seen = pps(link)
    assert len(seen) >= 2 and all(p[0] == "NULL" for p in seen[:-1]) and seen[-1][0] == "EOP"
    assert [p[2] for p in seen] == list(range(len(seen)))          # block counter
    assert all(p[3] == 256 for p in seen[:-1])                      # full partial pages
    assert link.a.negotiated[0].dcs.ecm_frame_64
    assert link.a.finished.completion is Completion.OK
    arrived(link, [page])


def test_ppr_names_the_bad_frames_and_only_those_are_resent():
    page = sample_page(1, height=600)
    link = ecm_call([[page]], caller={"ecm_frame_size": 64}, block_faults={(1, 0, 1): {0, 5, 17}})
    assert link.b.sent_frames == ["CSI", "DIS", "CFR", "PPR", "MCF"]
    first, second = link.blocks[0], link.blocks[1]
    assert second[2] == [0, 5, 17] and len(first[2]) > 17
    assert second[3] == Modulation(rate=Rate.V17_14400)             # short training
    assert link.b.engine.pprs == 1
    arrived(link, [page])


def test_a_whole_lost_block_is_asked_for_again():
    link = ecm_call(block_faults={(1, 0, 1): lambda frames: set(frames)})
    assert link.b.sent_frames[-2:] == ["PPR", "MCF"]
    assert link.blocks[1][2] == link.blocks[0][2]
    arrived(link, [sample_page(1)])


def test_four_pprs_then_ctc_ctr_at_a_lower_rate():
    faults = {(1, 0, n): {1} for n in range(1, 5)}
    link = ecm_call(caller={"ecm_frame_size": 64}, block_faults=faults, documents=[[sample_page(1, height=200)]])
    assert link.b.sent_frames == ["CSI", "DIS", "CFR", "PPR", "PPR", "PPR", "PPR", "CTR", "MCF"]
    assert link.a.sent_frames == ["TSI", "DCS"] + ["PPS"] * 4 + ["CTC", "PPS", "DCN"]
    after_ctc = link.blocks[4]
    assert after_ctc[2] == [1] and after_ctc[3] == Modulation(rate=Rate.V17_12000, long_training=True)
    assert link.a.engine.dcs.rate is Rate.V17_12000 and link.b.engine.dcs.rate is Rate.V17_12000
    assert link.a.finished.completion is Completion.OK
    arrived(link, [sample_page(1, height=200)])


def test_eor_err_after_the_ctcs_are_spent():
    faults = {(1, 0, n): {0} for n in range(1, 20)}
    link = ecm_call(caller={"ecm_max_ctc": 1}, block_faults=faults)
    assert link.a.sent_frames == ["TSI", "DCS"] + ["PPS"] * 4 + ["CTC"] + ["PPS"] * 4 + ["EOR", "DCN"]
    assert link.b.sent_frames[-1] == "ERR"
    assert [(r.number, r.response, r.confirmed) for r in link.a.results] == [(1, FCF.ERR, False)]
    assert [(r.number, r.response, r.confirmed) for r in link.b.results] == [(1, FCF.ERR, False)]
    assert link.a.finished.completion is Completion.PAGE_REJECTED and link.a.finished.pages == 0


def test_eor_mid_document_moves_on_to_the_next_page():
    faults = {(1, 0, n): {0} for n in range(1, 20)}
    link = ecm_call([[sample_page(1), sample_page(2)]], caller={"ecm_max_ctc": 0}, block_faults=faults)
    assert "EOR" in link.a.sent_frames and "ERR" in link.b.sent_frames
    assert [(r.number, r.confirmed) for r in link.a.results] == [(1, False), (2, True)]
    assert link.a.finished.completion is Completion.PAGE_REJECTED


def busy_until(link, side_name: str, state: State, release_after: int | None):
    """Make the receiver busy when it first enters ``state``; ready again after n RR."""
    def make_busy(lk, side):
        lk.feed(side, LocalBusy(busy=True))
    link.watch(side_name, state, make_busy)
    if release_after is not None:
        original = link.feed
        count = {"rr": 0}

        def feed(side, event):
            frame = getattr(event, "frame", None)
            if side is link.b and frame is not None and frame.fcf is FCF.RR:
                count["rr"] += 1
                if count["rr"] == release_after:
                    original(side, LocalBusy(busy=False))
            return original(side, event)
        link.feed = feed


def test_rnr_rr_flow_control_until_ready():
    link = ecm_call(run=False, signal_ms=1500)
    busy_until(link, "answerer", State.ECM_WAIT_PPS, release_after=3)
    link.run()
    assert link.a.sent_frames == ["TSI", "DCS", "PPS", "RR", "RR", "RR", "DCN"]
    assert link.b.sent_frames == ["CSI", "DIS", "CFR", "RNR", "RNR", "RNR", "MCF"]
    assert link.a.finished.completion is Completion.OK
    arrived(link, [sample_page(1)])


def test_rnr_beyond_t5_ends_the_call():
    link = ecm_call(run=False, signal_ms=2000, caller={"timers": Timers(t5=20_000)}, notify_hangup=False)
    busy_until(link, "answerer", State.ECM_WAIT_PPS, release_after=None)
    link.run()
    assert link.a.finished.completion is Completion.RECEIVER_NOT_READY
    assert link.a.sent_frames[-1] == "DCN" and link.a.sent_frames.count("RR") >= 5
    assert link.a.finished.delivery_error.retryable


def test_lost_pps_is_repeated():
    link = ecm_call(drop={("caller", "PPS"): 1})
    assert link.a.sent_frames == ["TSI", "DCS", "PPS", "PPS", "DCN"]
    assert link.a.finished.completion is Completion.OK
    arrived(link, [sample_page(1)])


def test_lost_mcf_the_repeated_pps_is_answered_again_not_stored_twice():
    pages = [sample_page(1), sample_page(2)]
    link = ecm_call([pages], drop={("answerer", "MCF"): 1})
    assert link.a.sent_frames == ["TSI", "DCS", "PPS", "PPS", "PPS", "DCN"]
    assert link.b.sent_frames == ["CSI", "DIS", "CFR", "MCF", "MCF", "MCF"]
    assert link.b.finished.pages == 2 and [r.number for r in link.b.results] == [1, 2]
    arrived(link, pages)


def test_lost_mcf_after_the_last_pps_eop():
    link = ecm_call(drop={("answerer", "MCF"): 1})
    assert link.a.finished.completion is Completion.OK and link.b.finished.completion is Completion.OK
    assert link.b.finished.pages == 1


def test_lost_ppr_and_lost_ctr_are_recovered():
    link = ecm_call(block_faults={(1, 0, 1): {0}}, drop={("answerer", "PPR"): 1})
    assert link.b.sent_frames == ["CSI", "DIS", "CFR", "PPR", "PPR", "MCF"]
    arrived(link, [sample_page(1)])
    faults = {(1, 0, n): {0} for n in range(1, 5)}
    link = ecm_call(block_faults=faults, drop={("answerer", "CTR"): 1})
    assert link.a.sent_frames.count("CTC") == 2 and link.b.sent_frames.count("CTR") == 2
    assert link.a.finished.completion is Completion.OK


def test_pps_no_answer_three_times_gives_up():
    link = ecm_call(drop={("caller", "PPS"): 3}, notify_hangup=False)
    assert link.a.finished.completion is Completion.NO_PPM_RESPONSE
    assert link.a.sent_frames.count("PPS") == 3


def test_pps_eom_goes_back_to_phase_b():
    docs = [[sample_page(1)], [sample_page(2)]]
    link = ecm_call(docs)
    assert link.a.sent_frames == ["TSI", "DCS", "PPS", "TSI", "DCS", "PPS", "DCN"]
    assert [p[0] for p in pps(link)] == ["EOM", "EOP"]
    arrived(link, [sample_page(1), sample_page(2)])


def test_helpers():
    assert split_page(bytes(600), 256) == [[bytes(256), bytes(256), bytes(88)]]
    assert len(split_page(bytes(64 * 300), 64)) == 2
    fif = ppr_fif([0, 9, 255])
    assert len(fif) == 32 and fif[0] == 1 and fif[1] == 2 and fif[31] == 0x80
    assert ppr_frames(fif, 256) == [0, 9, 255] and ppr_frames(fif, 10) == [0, 9]
    for rate in Rate:
        assert rate_from_ctc(ctc_fif(rate)) is rate
    block = SendBlock(number=1, block=0, frames=[(0, b"ab"), (1, b"c")], modulation=Modulation(rate=Rate.V17_9600))
    frames = block.hdlc_frames()
    assert frames[0] == b"\xff\x03\x06\x00ab" and frames[-3:] == [b"\xff\x03\x86"] * 3
    line = hdlc.encode_block(frames)
    assert [d.payload for d in hdlc.deframe_block(b"\x00" + line + b"\x00\x00")] == frames
    assert [d.payload for d in hdlc.Deframer().feed(line)] == frames   # the bit-level deframer agrees
    assert DCS(ecm=True, t6=True).min_bits == 0


@pytest.mark.parametrize("size", [64, 256])
def test_frame_sizes(size):
    page = sample_page(3, height=300)
    link = ecm_call([[page]], caller={"ecm_frame_size": size})
    (tx_block,) = link.a.engine._tx.blocks
    assert all(len(d) == size for d in tx_block[:-1]) and 0 < len(tx_block[-1]) <= size
    assert link.blocks[0][2] == list(range(len(tx_block)))
    arrived(link, [page])
