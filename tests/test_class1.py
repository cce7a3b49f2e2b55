"""drivers.class1: the Class 1 driver.

* AT exchanges as tables (tests/class1_script.py): a whole send and a whole receive, what the
  driver says and when (gaps, modulation codes, DLE framing, flow control), a modem that omits the
  FCS, +FCERROR, a lost frame, a T4 expiry with its abort (and the CONNECT that races it), phase-A
  results, a line that drops.
* End to end in-process: faxpipe → softmodem ↔ line ↔ softmodem → faxpipe, pages compared pixel
  for pixel, and every fault of the software modem with the outcome each side must report — a page
  is never reported sent without the receiver's MCF.
* The command line (faxpipe send / receive) and the worker's sender over the same software modems.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time

import pytest

from class1_script import ABORT, WAIT, ScriptedModem, data, frame, hdlc, high_speed, ok
from drivers import class1
from drivers.at import ATChannel, Transcript, open_port
from faxpipe import codec, tiff
from faxpipe.page import Resolution
from faxpipe.t30.completion import Completion
from faxpipe.t30.engine import Timers
from faxpipe.t30.frames import DCS, DIS, FCF, Frame, Modems, Rate, ident_frame
from t30_link import sample_page

SCALE = 20
FAST = Timers(t1=10_000, t2=4_000, t4=1_500)   # the softmodem runs 20× faster than a real line
_names = itertools.count()
INIT = [("AT", ok()), ("ATE0V1", ok()), ("AT+FCLASS=1", ok())]
ALL_CODES = "24,48,72,73,74,96,97,98,121,122,145,146"


def run_script(table, role: str, *, pages=None, timers=FAST, ident: str = "", tmp_path=None, **options):
    port = ScriptedModem(table)
    log = None if tmp_path is None else tmp_path / "call.log"
    transcript = Transcript(log, keep="failed")
    modem = class1.Class1Modem(ATChannel(port, transcript=transcript), ident=ident, timers=timers, **options)
    try:
        result = modem.send("5550199", pages) if role == "send" else modem.receive(rings=1, wait=5)
    finally:
        transcript.close(failed=True)
    assert not port.errors, (port.errors, port.sent, transcript.lines[-15:])
    assert port.done, ("script not finished", list(port.rows)[:3], port.sent, transcript.lines[-15:])
    return result, port, transcript


# --- AT exchanges as tables ---------------------------------------------------------------------------

def test_send_table_v29_mh_standard_no_fcs():
    """A V.29-only receiver that takes MH at standard resolution with a 20 ms scan-line time, behind a
    modem that omits the FCS: 9600 bit/s, the page halved vertically, zero fill to 192 bits a line."""
    page = sample_page(1, height=20)
    remote = DIS(modems=Modems.V29, fine=False, two_d=False, min_scan_code=0)
    csi = ident_frame(FCF.CSI, "+1 555 0199")
    table = INIT + [
        ("AT+FTM=?", ok("24,48,72,96") + ok()),
        ("AT+FRM=?", ok("24,48,72,96") + ok()),
        ("ATD5550199", hdlc(csi, fcs=False)),         # ATD implies +FRH=3
        ("AT+FRH=3", hdlc(remote.frame(), fcs=False)),
        ("AT+FRS=7", ok()),                            # silence before switching to transmit
        ("AT+FTH=3", ok("CONNECT")),
        (frame("TSI"), ok("CONNECT")),                 # non-final frame: CONNECT for the next
        (frame("DCS"), ok()),
        ("AT+FTS=7", ok()),                            # 70 ms before TCF
        ("AT+FTM=96", ok("CONNECT")),                  # V.29 9600 (TCF)
        (data(), ok()),
        ("AT+FRH=3", hdlc(Frame(fcf=FCF.CFR), fcs=False)),
        ("AT+FRS=7", ok()),
        ("AT+FTM=96", ok("CONNECT")),                  # the page
        (data(), ok()),
        ("AT+FTS=9", ok()),                            # 90 ms before EOP
        ("AT+FTH=3", ok("CONNECT")),
        (frame("EOP"), ok()),
        ("AT+FRH=3", hdlc(Frame(fcf=FCF.MCF), fcs=False)),
        ("AT+FRS=7", ok()),
        ("AT+FTH=3", ok("CONNECT")),
        (frame("DCN"), ok()),
        ("ATH0", ok()),
    ]
    result, port, _ = run_script(table, "send", pages=[page], ident="+1 555 0100")
    assert result.ok and result.completion is Completion.OK and result.confirmed_pages == 1
    assert result.remote_ident == "+1 555 0199"
    assert [(r.number, r.response, r.confirmed) for r in result.results] == [(1, "MCF", True)]
    tsi, dcs_frame, eop, dcn = port.frames
    assert tsi.x and dcs_frame.x and eop.x and dcn.x      # the caller sets the X bit
    dcs = DCS.decode(dcs_frame.fif)
    assert (dcs.rate, dcs.resolution, dcs.coding, dcs.min_scan_ms) == (Rate.V29_9600, Resolution.STANDARD, "mh", 20)
    tcf, sent = port.blocks
    assert tcf == bytes(9600 * 1500 // 8000)
    halved = class1.fit_page(page, 1728, Resolution.STANDARD)
    assert halved.height == 10 and halved.yres == 98
    assert sent == codec.encode(halved, "mh", min_bits=192, bit_order="lsb")
    decoded, stats = codec.decode(sent, "mh", 1728, bit_order="lsb")
    assert decoded == halved and stats.bad_rows == 0
    # host XON/XOFF: on for commands, off once ATD's frames come, on again to transmit (after DIS)
    assert port.flow_log[:3] == [("", True), ("ATD5550199", False), ("AT+FRH=3", True)]


def test_receive_table():
    """Answer after one RING (ATA implies +FTH=3), CSI + DIS, TSI + DCS, TCF, CFR, the page, EOP, MCF, DCN."""
    page = sample_page(2, height=24)
    caller_dcs = DCS(rate=Rate.V17_14400, fine=True, two_d=True, min_scan_ms=0)
    table = INIT + [
        ("AT+FTM=?", ok(ALL_CODES) + ok()),
        ("AT+FRM=?", ok(ALL_CODES) + ok()),
        (WAIT, 0.05, ok("RING")),
        ("ATA", ok("CONNECT")),
        (frame("CSI"), ok("CONNECT")),
        (frame("DIS"), ok()),
        ("AT+FRH=3", hdlc(ident_frame(FCF.TSI, "+1 555 0100", x=True))),
        ("AT+FRH=3", hdlc(caller_dcs.frame())),
        ("AT+FRM=145", high_speed(bytes(2700))),       # TCF: V.17 14400 long training
        ("AT+FRS=7", ok()),
        ("AT+FTH=3", ok("CONNECT")),
        (frame("CFR"), ok()),
        ("AT+FRM=146", high_speed(codec.encode(page, "mr", bit_order="lsb"))),   # short training
        ("AT+FRH=3", hdlc(Frame(fcf=FCF.EOP, x=True))),
        ("AT+FRS=7", ok()),
        ("AT+FTH=3", ok("CONNECT")),
        (frame("MCF"), ok()),
        ("AT+FRH=3", hdlc(Frame(fcf=FCF.DCN, x=True))),
        ("ATH0", ok()),
    ]
    result, port, _ = run_script(table, "receive", ident="+1 555 0199")
    assert result.ok and result.received == [page] and result.received[0].yres == 196
    assert result.remote_ident == "+1 555 0100"
    dis = DIS.decode(port.frames[1].fif)
    assert dis.modems is Modems.V27TER_V29_V17 and dis.two_d and dis.fine and dis.ecm and dis.t6   # ECM offered


def test_send_table_fcerror_lost_frame_bad_fcs_t4_and_a_racing_connect():
    page = sample_page(3, height=16)
    dis = DIS(modems=Modems.V27TER_V29_V17, fine=True, two_d=True)
    repeat = [("AT+FRS=7", ok()), ("AT+FTH=3", ok("CONNECT")), (frame("DCS"), ok()),
              ("AT+FTS=7", ok()), ("AT+FTM=145", ok("CONNECT")), (data(), ok())]
    table = INIT + [
        ("AT+FTM=?", ok(ALL_CODES) + ok()),
        ("AT+FRM=?", ok(ALL_CODES) + ok()),
        ("ATD5550199", hdlc(dis.frame())),
        *repeat,
        ("AT+FRH=3", ok("+FCERROR")),                 # a high-speed carrier still on: ask again
        ("AT+FRH=3", ok("CONNECT") + ok("NO CARRIER")),  # the CFR lost in noise
        ("AT+FRH=3", b""),                             # nothing more: T4 runs out
        (ABORT, ok()),
        *repeat,                                       # DCS and TCF repeated
        ("AT+FRH=3", hdlc(Frame(fcf=FCF.CFR), result="ERROR")),   # bad FCS: not heard
        ("AT+FRH=3", hdlc(Frame(fcf=FCF.CFR))),
        ("AT+FRS=7", ok()),
        ("AT+FTM=146", ok("CONNECT")),
        (data(), ok()),
        ("AT+FTS=9", ok()),
        ("AT+FTH=3", ok("CONNECT")),
        (frame("EOP"), ok()),
        ("AT+FRH=3", b""),                             # T4 runs out …
        (ABORT, hdlc(Frame(fcf=FCF.MCF))),             # … just as the MCF comes: CONNECT races the abort
        ("AT+FRS=7", ok()),
        ("AT+FTH=3", ok("CONNECT")),
        (frame("DCN"), ok()),
        ("ATH0", ok()),
    ]
    timers = Timers(t1=5_000, t2=3_000, t4=400)
    result, port, transcript = run_script(table, "send", pages=[page], timers=timers)
    assert result.ok and result.confirmed_pages == 1, result
    assert any("frame lost" in line for line in transcript.lines)
    assert port.blocks[-1] == codec.encode(page, "mr", bit_order="lsb")


@pytest.mark.parametrize("answer, completion, code", [
    ("BUSY", Completion.BUSY, "busy"),
    ("NO ANSWER", Completion.NO_ANSWER, "no_answer"),
    ("NO DIALTONE", Completion.NO_DIALTONE, "no_dialtone"),
    ("NO CARRIER", Completion.NO_CARRIER, "no_carrier"),
])
def test_phase_a_results(answer, completion, code, tmp_path):
    table = INIT + [("AT+FTM=?", ok(ALL_CODES) + ok()), ("AT+FRM=?", ok(ALL_CODES) + ok()),
                    ("ATD5550199", ok(answer)), (ABORT, b""), ("ATH0", ok())]
    result, _, transcript = run_script(table, "send", pages=[sample_page(1)], tmp_path=tmp_path)
    assert result.completion is completion and result.detail == answer and not result.ok
    error = result.delivery_error
    assert (error.type, error.code, error.retryable) == ("line", code, True)
    assert (tmp_path / "call.log").exists()   # a failed call keeps its transcript


def test_line_dropped_while_sending_dcs():
    dis = DIS()
    table = INIT + [
        ("AT+FTM=?", ok(ALL_CODES) + ok()), ("AT+FRM=?", ok(ALL_CODES) + ok()),
        ("ATD5550199", hdlc(dis.frame())),
        ("AT+FRS=7", ok()),
        ("AT+FTH=3", ok("NO CARRIER")),               # the far end hung up
        ("ATH0", ok("NO CARRIER")),
    ]
    result, _, _ = run_script(table, "send", pages=[sample_page(1)])
    assert result.completion is Completion.LINE_DROPPED and result.confirmed_pages == 0
    assert result.delivery_error.code == "call_dropped" and not result.ok


def test_unexpected_modem_answer_still_hangs_up():
    table = INIT + [
        ("AT+FTM=?", ok(ALL_CODES) + ok()), ("AT+FRM=?", ok(ALL_CODES) + ok()),
        ("ATD5550199", hdlc(DIS().frame())),
        ("AT+FRS=7", ok()),
        ("AT+FTH=3", ok("ERROR")),                    # a modem that cannot do what T.31 says
        (ABORT, b""),
        ("ATH0", ok()),
    ]
    result, _, _ = run_script(table, "send", pages=[sample_page(1)])
    assert result.completion is Completion.LINE_DROPPED and "ERROR" in result.reason
    assert not result.ok


def test_fit_page():
    page = sample_page(4, height=9, yres=196.0)
    standard = class1.fit_page(page, 1728, Resolution.STANDARD)
    assert standard.height == 5
    assert standard.row(0) == bytes(a | b for a, b in zip(page.row(0), page.row(1)))
    back = class1.fit_page(standard, 1728, Resolution.FINE)
    assert back.height == 10 and back.row(2) == back.row(3) == standard.row(1)
    wide = class1.fit_page(page, 2048, Resolution.FINE)
    assert wide.width == 2048 and wide.row(3)[:216] == page.row(3) and not any(wide.row(3)[216:])
    assert class1.fit_page(wide, 1728, Resolution.FINE) == page
    assert class1.modem_family({24, 48, 72, 96}) is Modems.V27TER_V29


def test_at_channel_frame_or_result_and_idle_data():
    """drivers.at additions the driver relies on: after +FRH's CONNECT either a frame or a result
    code (a frame lost in noise); page data bounded by silence rather than by its total length."""
    from faxpipe.errors import ModemError

    lost = ATChannel(ScriptedModem([(WAIT, 0.0, ok("NO CARRIER"))]))
    assert lost.read_data_or_result(timeout=2).result == "NO CARRIER"
    good = ATChannel(ScriptedModem([(WAIT, 0.0, b"\xff\x13\x84\x10\x10\x10\x03" + ok())]))
    assert good.read_data_or_result(timeout=2) == b"\xff\x13\x84\x10" and good.wait_result().ok
    stalled = ATChannel(ScriptedModem([(WAIT, 0.0, bytes(10))]))
    t0 = time.monotonic()
    with pytest.raises(ModemError, match="after 0.3 s of silence after 10 data bytes"):
        stalled.read_data(timeout=60, idle=0.3)
    assert time.monotonic() - t0 < 2


# --- end to end through two software modems ---------------------------------------------------------

class Call:
    """One call between two Class1Modems on a fresh software exchange (faults per modem)."""

    def __init__(self, tmp_path, pages, *, tx="", rx="", rx_wait=10.0, timers=FAST, scale=SCALE, ecm=False):
        self.tx_log, self.rx_log = tmp_path / "tx.log", tmp_path / "rx.log"
        self.pages = pages
        # these calls prove the procedure without error correction (ECM: tests/test_class1_ecm.py)
        self.options = dict(rate_scale=scale, tx_faults=tx, rx_faults=rx, timers=timers, wait=rx_wait,
                            tx_log=self.tx_log, rx_log=self.rx_log, tx_options={"ecm": ecm},
                            rx_options={"ecm": ecm})

    def run(self):
        self.tx, self.rx = class1.softmodem_call(self.pages, **self.options)
        self.check_invariant()
        return self

    def check_invariant(self):
        """Never a page confirmed that the receiver did not answer with MCF (as heard by the sender)."""
        heard = len(re.findall(r"frame in: MCF", self.tx_log.read_text()))
        assert len([r for r in self.tx.results if r.confirmed]) <= heard
        assert self.tx.confirmed_pages <= max(len(self.rx.received), 0) or not self.tx.confirmed_pages
        if self.tx.ok:
            assert self.tx.confirmed_pages == len(self.pages) and "ATH0" in self.tx_log.read_text()


def pages_of(*heights):
    return [sample_page(n, height=h) for n, h in enumerate(heights, 1)]


def test_two_pages_end_to_end(tmp_path):
    pages = pages_of(180, 120)
    call = Call(tmp_path, pages).run()
    assert call.tx.ok and call.rx.ok, (call.tx, call.rx)
    assert call.rx.received == pages                       # pixel for pixel
    assert [d.rate for d in call.tx.negotiated] == [Rate.V17_14400] and call.tx.negotiated[0].coding == "mr"
    assert [(r.number, r.response) for r in call.tx.results] == [(1, "MCF"), (2, "MCF")]
    assert call.tx.remote_ident == "+1 555 0199" and call.rx.remote_ident == "+1 555 0100"
    assert "TX ATH0" in call.rx_log.read_text()


def test_bit_errors_give_rtn_then_the_page_is_resent(tmp_path):
    """Seeded bit errors (1e-4) spoil the first try; RTN → the sender retrains at 12 000 and resends."""
    pages = pages_of(200)
    call = Call(tmp_path, pages, tx="&ber=1e-4&seed=8").run()
    assert [(r.number, r.response, r.confirmed) for r in call.tx.results] == [(1, "RTN", False), (1, "MCF", True)]
    assert [d.rate for d in call.tx.negotiated] == [Rate.V17_14400, Rate.V17_12000]
    assert call.tx.ok and call.rx.received == pages


def test_persistent_bit_errors_never_report_a_page_sent(tmp_path):
    call = Call(tmp_path, pages_of(200), tx="&ber=3e-4&seed=1").run()
    assert not call.tx.ok and call.tx.confirmed_pages == 0
    assert call.tx.completion in (Completion.TRAINING_FAILED, Completion.PAGE_REJECTED)
    assert call.tx.delivery_error.type == "fax" and call.tx.delivery_error.retryable
    assert call.tx_log.exists()


def test_lost_mcf_is_repeated(tmp_path):
    """The receiver's first MCF is lost: the sender repeats EOP after T4 and hears MCF again."""
    pages = pages_of(60)
    call = Call(tmp_path, pages, rx="&drop=8C").run()
    assert call.tx.ok and call.rx.ok and call.rx.received == pages
    assert call.tx_log.read_text().count("frame out: EOP") == 2


def test_cfr_always_lost_gives_up_after_three_tries(tmp_path):
    call = Call(tmp_path, pages_of(40), rx="&drop=84*").run()
    assert call.tx.completion is Completion.NO_RESPONSE and call.tx.confirmed_pages == 0
    assert call.tx_log.read_text().count("frame out: DCS") == 3
    assert call.rx.completion is Completion.REMOTE_DCN and not call.rx.received


@pytest.mark.parametrize("tx, rx, tx_completion, rx_completion, rx_pages", [
    ("&cut=fcf:82", "", Completion.LINE_DROPPED, Completion.LINE_DROPPED, 0),       # phase B: DCS
    ("&cut=data:1", "", Completion.LINE_DROPPED, Completion.LINE_DROPPED, 0),       # TCF
    ("&cut=data:2@300", "", Completion.LINE_DROPPED, Completion.LINE_DROPPED, 0),   # phase C: page data
    ("&cut=fcf:2E", "", Completion.LINE_DROPPED, Completion.LINE_DROPPED, 0),       # phase D: EOP
    ("", "&cut=fcf:8C", Completion.LINE_DROPPED, Completion.OK, 1),                 # MCF never heard
    ("", "&cut=answer", Completion.NO_CARRIER, Completion.NO_CARRIER, 0),           # phase A
])
def test_carrier_lost_in_each_phase(tmp_path, tx, rx, tx_completion, rx_completion, rx_pages):
    call = Call(tmp_path, pages_of(80), tx=tx, rx=rx).run()
    assert call.tx.completion is tx_completion and call.tx.confirmed_pages == 0 and not call.tx.ok
    assert call.rx.completion is rx_completion and len(call.rx.received) == rx_pages
    assert call.tx.delivery_error.type == "line"
    assert "ATH0" in call.tx_log.read_text() and "ATH0" in call.rx_log.read_text()


def test_partial_send_is_never_sent(tmp_path):
    """The receiver's second MCF (its 5th frame: CSI, DIS, CFR, MCF, MCF) is cut: 1 of 3 confirmed."""
    call = Call(tmp_path, pages_of(50, 50, 50), rx="&cut=frame:5").run()
    assert call.tx.confirmed_pages == 1 and call.tx.pages_total == 3 and not call.tx.ok
    assert call.tx.delivery_error.code == "call_dropped"
    assert call.rx.received == call.pages[:2]     # the receiver had accepted page 2 when the line went


@pytest.mark.parametrize("fault, completion", [("&busy=1", Completion.BUSY), ("&no_answer=1", Completion.NO_ANSWER)])
def test_busy_and_no_answer(tmp_path, fault, completion):
    call = Call(tmp_path, pages_of(20), rx=fault, rx_wait=0.5).run()
    assert call.tx.completion is completion and not call.tx.ok and call.tx.delivery_error.retryable
    assert call.rx.completion is Completion.NO_CARRIER and call.rx.reason == "no call"


# --- the command line and the worker's sender -------------------------------------------------------

def test_cli_send_and_receive(tmp_path, capsys):
    from faxpipe.cli import main

    doc = tmp_path / "note.txt"
    doc.write_text("faxpipe send → softmodem → faxpipe receive\n")
    name = f"cli-{os.getpid()}-{next(_names)}"
    url = f"softmodem://{{}}?exchange={name}&rate_scale=40&ring_interval=2"
    rx_port_ready = threading.Event()
    codes = {}

    def receive():
        rx_port_ready.set()
        codes["rx"] = main(["receive", "--device", url.format(200), "-o", str(tmp_path / "in"),
                            "--wait", "20", "--log", str(tmp_path / "rx.log")])

    thread = threading.Thread(target=receive)
    thread.start()
    rx_port_ready.wait()
    time.sleep(0.3)
    codes["tx"] = main(["send", "--device", url.format(100), "--ident", "+1 555 0100", "--log",
                        str(tmp_path / "tx.log"), "200", str(doc)])
    thread.join(60)
    out = capsys.readouterr().out
    assert codes == {"tx": 0, "rx": 0}, out
    assert "page 1: receiver answered MCF (confirmed)" in out and "negotiated V.17 14400, fine, MMR" in out
    assert "ECM" in out   # both software modems offer ECM and T.6
    (written,) = (tmp_path / "in").glob("fax-*.tif")
    assert str(written) in out
    from faxpipe.normalize import convert

    assert [p.page for p in tiff.read(written)] == list(convert([str(doc)]).pages)
    assert "TX ATD200" in (tmp_path / "tx.log").read_text()


def test_cli_send_busy_exits_1(tmp_path, capsys):
    from faxpipe.cli import main

    doc = tmp_path / "note.txt"
    doc.write_text("busy\n")
    name = f"cli-{os.getpid()}-{next(_names)}"
    other = open_port(f"softmodem://200?exchange={name}&rate_scale=40&busy=1")
    try:
        code = main(["send", "--device", f"softmodem://100?exchange={name}&rate_scale=40", "200", str(doc)])
    finally:
        other.close()
    out = capsys.readouterr().out
    assert code == 1 and "NOT sent: 0 of 1 page(s) confirmed; line/busy (retryable)" in out
    kept = re.search(r"transcript: (\S+)", out).group(1)
    assert os.path.exists(kept) and "BUSY" in open(kept).read()
    os.unlink(kept)


def test_worker_sender_maps_the_call_onto_a_call_outcome(tmp_path):
    from faxpipe.jobs.config import ModemConfig

    pages = pages_of(40, 40)
    doc = tmp_path / "doc.tif"
    tiff.write(doc, pages)
    name = f"w-{os.getpid()}-{next(_names)}"
    base = f"softmodem://{{}}?exchange={name}&rate_scale={SCALE}&ring_interval=2"
    rx_port = open_port(base.format(200))
    out = {}

    def answer():
        out["rx"] = class1.Class1Modem(ATChannel(rx_port), timers=FAST).receive(rings=1, wait=10)

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        modem = ModemConfig(name="line1", device=base.format(100), station_id="+1 555 0100", max_rate=9600)
        outcome = class1.send_fax(modem, "200", str(doc), str(tmp_path / "t.log"))
    finally:
        thread.join(60)
        rx_port.close()
    assert outcome.completion is Completion.OK and outcome.delivered(2) and outcome.confirmed == 2
    assert [p.result for p in outcome.pages] == ["MCF", "MCF"] and outcome.remote_csid is None
    assert "negotiated: V.29 9600" in (tmp_path / "t.log").read_text()   # max_rate 9600
    assert out["rx"].received == pages
