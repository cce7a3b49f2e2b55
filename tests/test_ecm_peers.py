"""ECM against a real peer: spandsp's T.30 terminal behind spandsp's T.31 modem (tests/peers) with
error correction enabled. spandsp 0.0.6's T.31 has no HDLC at high speed (``+FTH=?`` → 3), so the
image frames are built and checked by faxpipe inside ``+FTM`` / ``+FRM`` data, as HylaFAX does.

* faxpipe sends MMR in ECM at 14 400 (both ends offer T.6) and MR in ECM (the peer offers MH / MR
  only), several partial pages included; spandsp sends MMR and MR in ECM to faxpipe;
* faxpipe sends with 64-octet frames (DCS bit 28), five partial pages for one page;
* the peer with ECM disabled: faxpipe falls back to MR without ECM, both directions.
Pages compared pixel for pixel."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_class1_peers import CALL_SECONDS, receive_on, send_on, text  # noqa: E402
from test_peer_spandsp import modem_peer  # noqa: E402

from faxpipe import codec, tiff  # noqa: E402
from faxpipe.fit import coding_order  # noqa: E402
from faxpipe.page import Page  # noqa: E402

pytestmark = pytest.mark.oracle


def text_page(seed: int, height: int) -> Page:
    """Rows ``seed * 97`` onwards of bench/pages.py's dense text page (fine): real text, where 2-D
    coding pays off, so faxpipe's fewest-bits rule picks MMR (or MR) — checked below."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "bench"))
    import pages as bench_pages
    from faxpipe.page import Resolution

    full = bench_pages.text(Resolution.FINE)
    start, stride = (seed * 97) % (full.height - height), full.stride
    return Page(full.width, height, full.data[start * stride:(start + height) * stride], 204.0, 196.0)


@pytest.mark.parametrize("compressions, coding", [("mh,mr,mmr", "mmr"), ("mh,mr", "mr")])
def test_faxpipe_sends_in_ecm_to_spandsp(tmp_path, compressions, coding):
    peers = modem_peer()
    pages = [text_page(31, 2000), text_page(32, 120)]
    assert coding_order(pages)[:2] == ("mmr", "mr")
    received = tmp_path / "rx.tif"
    with peers.start_spandsp_modem("answer", receive=received, ecm=True, compressions=compressions,
                                   timeout=CALL_SECONDS, log_level=1) as modem:
        result = send_on(modem.pty, "123", pages, tmp_path / "tx.log")
        peer = modem.wait(timeout=CALL_SECONDS)
    log = f"{text(tmp_path / 'tx.log')}\npeer {peer.fields}\n{peer.log[-3000:]}"
    assert result.ok and result.confirmed_pages == 2, log
    dcs = result.negotiated[0]
    assert dcs.ecm and dcs.coding == coding and dcs.rate.bps == 14400 and dcs.min_bits == 0, log
    assert peer.ok and peer.ecm and peer.pages_rx == 2 and peer.rate == 14400 and peer.encoding == coding, log
    assert [tp.page.data for tp in tiff.read(received)] == [p.data for p in pages]


def test_faxpipe_sends_64_octet_frames_to_spandsp(tmp_path):
    """DCS bit 28 (T.30 Table 2): 64-octet ECM frames, so a partial page of 256 frames holds only
    16 kB and this page takes several, each announced by its PPS with its frame count."""
    peers = modem_peer()
    pages = [text_page(35, 2000)]
    received = tmp_path / "rx.tif"
    with peers.start_spandsp_modem("answer", receive=received, ecm=True, compressions="mh,mr,mmr",
                                   timeout=CALL_SECONDS, log_level=1) as modem:
        result = send_on(modem.pty, "123", pages, tmp_path / "tx.log", ecm_frame_size=64)
        peer = modem.wait(timeout=CALL_SECONDS)
    log = f"{text(tmp_path / 'tx.log')}\npeer {peer.fields}\n{peer.log[-3000:]}"
    assert result.ok and result.confirmed_pages == 1, log
    dcs = result.negotiated[0]
    assert dcs.ecm and dcs.ecm_frame_64 and dcs.coding == "mmr", log
    # one PPS per partial page (T.30 §A.4): its last FIF octet is the frame count less one
    pps = [line.split()[-4:] for line in (tmp_path / "tx.log").read_text().splitlines()
           if "frame out: PPS" in line]
    frames = -(-len(codec.encode(pages[0], "mmr", rtc=True)) // 64)
    assert len(pps) == -(-frames // 256) >= 2, log
    assert sum(int(fif[-1], 16) + 1 for fif in pps) == frames, log
    assert peer.ok and peer.ecm and peer.pages_rx == 1, log
    assert [tp.page.data for tp in tiff.read(received)] == [p.data for p in pages]


def spandsp_calls(tmp_path, pages, **peer_options):
    """spandsp's terminal calls and sends ``pages`` (MMR TIFF); faxpipe answers. → (rx, peer, log)"""
    tx = tmp_path / "tx.tif"
    tiff.write(tx, pages, compression="g4")
    out: dict = {}
    with modem_peer().start_spandsp_modem("call", send=tx, timeout=CALL_SECONDS, log_level=1,
                                          **peer_options) as modem:
        receive_on(modem.pty, tmp_path / "rx.log", out).join(CALL_SECONDS)
        peer = modem.wait(timeout=CALL_SECONDS)
    log = f"{text(tmp_path / 'rx.log')}\npeer {peer.fields}\n{peer.log[-3000:]}"
    rx = out.get("rx")
    assert rx is not None and rx.ok, log
    return rx, peer, log


@pytest.mark.parametrize("compressions, coding", [("mh,mr,mmr", "mmr"), ("mh,mr", "mr")])
def test_spandsp_sends_in_ecm_to_faxpipe(tmp_path, compressions, coding):
    pages = [text_page(33, 1600), text_page(34, 90)]
    rx, peer, log = spandsp_calls(tmp_path, pages, ecm=True, compressions=compressions)
    assert peer.ok and peer.ecm and peer.pages_tx == 2 and peer.encoding == coding and peer.rate == 14400, log
    assert rx.negotiated[0].ecm and rx.negotiated[0].coding == coding
    assert rx.received == pages, log


def test_ecm_disabled_at_the_peer_falls_back_both_ways(tmp_path):
    peers = modem_peer()
    pages = [text_page(35, 300)]
    received = tmp_path / "rx.tif"
    with peers.start_spandsp_modem("answer", receive=received, ecm=False, timeout=CALL_SECONDS,
                                   log_level=1) as modem:
        result = send_on(modem.pty, "123", pages, tmp_path / "tx.log")
        peer = modem.wait(timeout=CALL_SECONDS)
    log = f"{text(tmp_path / 'tx.log')}\npeer {peer.fields}\n{peer.log[-3000:]}"
    assert result.ok and not result.negotiated[0].ecm and result.negotiated[0].coding == "mr", log
    assert peer.ok and not peer.ecm and [tp.page.data for tp in tiff.read(received)] == [pages[0].data]

    rx, peer, log = spandsp_calls(tmp_path, pages, ecm=False)
    assert not rx.negotiated[0].ecm and not peer.ecm and rx.received == pages, log
