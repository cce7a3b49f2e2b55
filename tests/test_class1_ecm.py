"""drivers.class1 in error correction mode through two software modems (HDLC frames inside the
high-speed carrier, the softmodem's ``ber=`` fault corrupting them), the same line without ECM
(copy-quality check → RTN → resend), what the receiver can take (faxpipe.fit) and the retry policy
for calls that ended partway (drivers.class1_ecm)."""

from __future__ import annotations

import pytest

from drivers import class1
from drivers.class1_ecm import remaining_pages, retry_plan
from faxpipe.fit import coding_order, fit_page, reduce_width
from faxpipe.page import Page, Resolution
from faxpipe.t30.completion import Completion
from faxpipe.t30.engine import Timers
from faxpipe.t30.frames import Rate
from t30_link import sample_page

FAST = Timers(t1=10_000, t2=4_000, t4=2_000)
SCALE = 25


def call(pages, *, tx="", rx="", ecm=True, tmp_path=None, **tx_options):
    logs = {} if tmp_path is None else {"tx_log": tmp_path / "tx.log", "rx_log": tmp_path / "rx.log"}
    return class1.softmodem_call(pages, rate_scale=SCALE, tx_faults=tx, rx_faults=rx, timers=FAST, wait=30,
                                 tx_options={"ecm": ecm, **tx_options}, rx_options={"ecm": ecm}, **logs)


def pages_of(*heights):
    return [sample_page(n, height=h) for n, h in enumerate(heights, 1)]


def test_ecm_clean_line_mmr_no_scan_time(tmp_path):
    pages = pages_of(700, 150)
    tx, rx = call(pages, tmp_path=tmp_path)
    assert tx.ok and rx.ok and rx.received == pages
    dcs = tx.negotiated[0]
    assert dcs.ecm and dcs.coding == "mmr" and dcs.min_bits == 0 and dcs.rate is Rate.V17_14400
    assert tx.ppr == 0 and rx.ppr == 0 and [b[:2] for b in tx.blocks] == [(1, 0), (2, 0)]
    log = (tmp_path / "tx.log").read_text()
    assert "frame out: PPS" in log and "AT+FTM=146" in log


@pytest.mark.parametrize("ber, seed", [(1e-5, 4), (3e-5, 2), (1e-4, 3)])
def test_ecm_bit_errors_pages_arrive_exact(ber, seed):
    """Bit errors in the image carrier: PPR names the bad frames, only those go again, the pages
    arrive pixel for pixel (the PPRs counted on both sides agree)."""
    pages = pages_of(900, 300)
    tx, rx = call(pages, tx=f"&ber={ber:g}&seed={seed}")
    assert tx.ok and rx.ok and rx.received == pages, (tx.completion, tx.reason)
    assert tx.ppr == rx.ppr >= 1
    first = {(p, b): n for p, b, n in tx.blocks[::-1]}   # the first burst of each partial page
    resent = [n for p, b, n in tx.blocks if n < first[(p, b)]]
    assert resent and all(n < first[(p, b)] for p, b, n in tx.blocks if n != first[(p, b)])


def test_ecm_64_octet_frames_and_partial_pages():
    page = sample_page(5, height=2000)
    tx, rx = call([page], tx="&ber=2e-5&seed=5", ecm_frame_size=64)
    assert tx.ok and rx.received == [page] and tx.negotiated[0].ecm_frame_64
    assert len({b for _, b, _ in tx.blocks}) >= 2    # more than 256 frames: PPS-NULL partial pages


def test_without_ecm_bit_errors_give_rtn_and_a_resend(tmp_path):
    pages = pages_of(200)
    tx, rx = call(pages, tx="&ber=1e-4&seed=8", ecm=False, tmp_path=tmp_path)
    assert not tx.negotiated[0].ecm and tx.negotiated[0].coding == "mr"
    assert [(r.number, r.response, r.confirmed) for r in tx.results] == [(1, "RTN", False), (1, "MCF", True)]
    assert tx.ok and rx.received == pages


def test_ecm_off_on_one_side_falls_back():
    pages = pages_of(120)
    tx, rx = class1.softmodem_call(pages, rate_scale=SCALE, timers=FAST, wait=30, rx_options={"ecm": False})
    assert tx.ok and rx.received == pages and not tx.negotiated[0].ecm and tx.negotiated[0].coding != "mmr"


# --- what the receiver can take --------------------------------------------------------------------------

def test_fit_reduces_b4_to_a4_and_halves_rows():
    wide = Page.blank(2048, 400, yres=196.0)
    stride = wide.stride
    data = bytearray(wide.data)
    for y in range(100, 300):
        data[y * stride + 250] = 0xFF       # a black bar near the right edge (beyond 1728 pels)
    wide = Page(2048, 400, bytes(data), 204.0, 196.0)
    fitted = fit_page(wide, 1728, Resolution.STANDARD)
    assert fitted.width == 1728 and fitted.yres == 98 and fitted.black_fraction() > 0
    assert abs(fitted.height - round(400 * 1728 / 2048 / 2)) <= 1
    reduced = reduce_width(wide, 1728)
    assert reduced.height == round(400 * 1728 / 2048)
    # nothing beyond 1728 pels: cropped, not reduced
    page = sample_page(1, height=50)
    padded = fit_page(page, 2048, Resolution.FINE)
    assert fit_page(padded, 1728, Resolution.FINE) == page


def test_fit_rerenders_when_the_caller_can():
    asked = []

    def rerender(resolution):
        asked.append(resolution)
        return sample_page(9, height=40, yres=98.0)

    out = fit_page(sample_page(1, height=80), 1728, Resolution.STANDARD, rerender=rerender)
    assert asked == [Resolution.STANDARD] and out == sample_page(9, height=40, yres=98.0)


def test_sender_never_sends_what_the_receiver_cannot_print(tmp_path):
    """Superfine B4 document to a receiver that offers A4, fine at most: the page goes A4 fine."""
    page = Page.blank(2048, 800, yres=391.0)
    data = bytearray(page.data)
    for y in range(0, 800, 3):
        data[y * page.stride + 10] = 0xF0
    page = Page(2048, 800, bytes(data), 204.0, 391.0)
    tx, rx = call([page], tmp_path=tmp_path)
    dcs = tx.negotiated[0]
    assert tx.ok and dcs.width.pels == 1728 and rx.received[0].width == 1728
    assert dcs.resolution is Resolution.SUPERFINE   # the softmodem driver offers superfine
    assert coding_order([page])[0] == dcs.coding


# --- retrying what was not confirmed ------------------------------------------------------------------------

def test_a_call_cut_partway_is_retried_with_the_remaining_pages_at_9600():
    pages = pages_of(150, 150, 150)
    tx, _ = call(pages, tx="&cut=data:3@200", ecm=False)
    assert not tx.ok and tx.completion is Completion.LINE_DROPPED
    assert remaining_pages(tx) == (2, 3)
    plan = retry_plan(tx, attempt=1, ecm=False)
    assert plan.pages == (2, 3) and plan.max_rate == 9600 and plan.ecm is False
    assert retry_plan(tx, attempt=2, ecm=False).ecm is True          # second retry toggles ECM
    tx2, rx2 = call([pages[n - 1] for n in plan.pages], **plan.options)
    assert tx2.ok and rx2.received == pages[1:] and tx2.negotiated[0].rate.bps <= 9600
    tx2.document_pages = plan.pages
    assert tx2.confirmed_document_pages == [2, 3]


def test_resend_entry_point(monkeypatch):
    pages = pages_of(60, 60)
    previous = class1.CallResult(role="calling", completion=Completion.LINE_DROPPED, pages_total=2,
                                 results=[class1.PageReport(1, "MCF", True)])
    sent = {}

    def fake_send(device, number, pgs, **options):
        sent.update(device=device, pages=pgs, options=options)
        return class1.CallResult(role="calling", completion=Completion.OK, pages_total=len(pgs),
                                 results=[class1.PageReport(1, "MCF", True)])

    monkeypatch.setattr(class1, "send", fake_send)
    result = class1.resend("softmodem://1", "200", pages, previous, attempt=1)
    assert sent["pages"] == pages[1:] and sent["options"]["max_rate"] == 9600
    assert result.document_pages == (2,) and result.confirmed_document_pages == [2]
