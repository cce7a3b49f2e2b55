"""drivers.class2 and the softmodem's Class 2 / 2.0 personalities (SP-2388, EIA-592 / T.32).

* AT exchange tables for both command sets, straight against the software modem (as spandsp's
  t31_tests do for Class 1), quirks included;
* hang-up codes: decimal in Class 2, hexadecimal in Class 2.0, one Completion table each;
* the full matrix sender class × receiver class (1, 2, 2.0) through the softmodem line, pages
  compared pixel for pixel (Class 1 ends: drivers.class1);
* faults in each phase (busy, no answer, lost DCS, failed training, carrier cut in page data,
  lost MCF, rejected pages) give the right hang-up code, completion and delivery error, and a page
  is never reported sent without the modem's +FPTS:1 / +FPS:1;
* per-modem quirks (bit order reversed, RTC by host or modem, line counts not to be trusted).
"""

from __future__ import annotations

import itertools
import os
import threading
import time

import pytest

from drivers.at import ATChannel, dle_stuff, open_port
from drivers.class1 import Class1Modem
from drivers.class2 import Class2Modem, Quirks, choose_class, fit_width, halve_rows
from drivers.class2params import CLASS2, CLASS20, CLASS2_HANGUP, CLASS20_HANGUP, Params, class2_code, \
    hangup_completion
from drivers.softmodem.dce import SoftModem
from drivers.softmodem.fax2line import rtc_bytes
from drivers.softmodem.line import Exchange
from faxpipe.codec import decode, encode
from faxpipe.errors import ModemError
from faxpipe.t30.completion import Completion
from faxpipe.t30.engine import Timers
from t30_link import sample_page

SCALE = 20
FAST = Timers(t1=10_000, t2=4_000, t4=1_500)     # Class 1 ends: the line runs 20× faster
_names = itertools.count()


def exchange_name() -> str:
    return f"c2-{os.getpid()}-{next(_names)}-{time.monotonic_ns()}"


# --- AT exchange tables ----------------------------------------------------------------------------

def ok(*lines):
    return "".join(f"\r\n{line}\r\n" for line in lines) + "\r\nOK\r\n"


ERROR = "\r\nERROR\r\n"
COMMON = [
    ("ATE0\r", "ATE0\r" + ok()),
    ("AT+FCLASS=?\r", ok("0,1,2,2.0")),
    ("AT+FDT\r", ERROR),                      # Class 2 commands need +FCLASS=2 / 2.0
]
CLASS2_TABLE = COMMON + [
    ("AT+FCLASS=2\r", ok()),
    ("AT+FCLASS?\r", ok("2")),
    ("AT+FCC?\r", ERROR),                     # the 2.0 names are not Class 2's
    ("AT+FDCC=?\r", ok("(0,1),(0-5),(0-2),(0-2),(0,1),(0),(0),(0-7)")),
    ("AT+FDCC=1,3,0,2,0,0,0,0\r", ok()),
    ("AT+FDIS?\r", ok("1,3,0,2,0,0,0,0")),    # setting the capabilities sets the session too
    ("AT+FDIS=0,,,,1\r", ok()),               # empty fields keep their values
    ("AT+FDIS?\r", ok("0,3,0,2,1,0,0,0")),
    ("AT+FDIS=1,9\r", ERROR),
    ('AT+FLID="+1 555 0100"\r', ok()),
    ("AT+FLID?\r", ok('"+1 555 0100"')),
    ("AT+FBOR=1;+FBOR?\r", ok("1")),
    ("AT+FBOR=4\r", ERROR),
    ("AT+FCR=1\r", ok()),
    ("AT+FNR=1,1,1,0\r", ERROR),              # 2.0 only
    ("AT+FMFR?\r", ok("faxpipe")),
    ("AT+FET=2\r", ERROR),                    # no page sent
    ("AT+FDR\r", ERROR),                      # no call
    ("AT+FK\r", ok()),
]
CLASS20_TABLE = COMMON + [
    ("AT+FCLASS=2.0\r", ok()),
    ("AT+FCLASS?\r", ok("2.0")),
    ("AT+FDCC?\r", ERROR),
    ("AT+FCC=1,5,0,2,1,0,0,0\r", ok()),
    ("AT+FIS?\r", ok("1,5,0,2,1,0,0,0")),
    ("AT+FNR=1,1,1,0;+FNR?\r", ok("1,1,1,0")),
    ("AT+FNR=2\r", ERROR),
    ('AT+FLI="+1 555 0100"\r', ok()),
    ("AT+FLO=1;+FBO=0;+FBO?\r", ok("0")),
    ("AT+FPS=2\r", ok()),
    ("AT+FIP\r", ok()),                       # back to the defaults
    ("AT+FNR?\r", ok("0,0,0,0")),
    ("AT+FIS?\r", ok("1,5,0,2,0,0,0,0")),     # MH by default (what efax reads, fax-protocol.md §5)
    ("AT+FMI?\r", ok("faxpipe")),
    ("AT+FKS\r", ok()),
    ("AT+FTM=?\r", ERROR),                    # Class 1 commands need +FCLASS=1
]


def run_table(modem, table):
    for command, expected in table:
        modem.write(command.encode("latin-1"))
        got = bytearray()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(got) < len(expected):
            got += modem.read(4096, 0.05)
        assert got.decode("latin-1") == expected, f"{command!r}: expected {expected!r}, got {got!r}"


@pytest.mark.parametrize("table", [CLASS2_TABLE, CLASS20_TABLE], ids=["class2", "class2.0"])
def test_at_tables(table):
    modem = SoftModem("1", Exchange(exchange_name()))
    try:
        run_table(modem, table)
    finally:
        modem.close()


def test_personality_options():
    only20 = SoftModem("1", Exchange(exchange_name()), classes=("2.0",), quirks=("reverse_rx",))
    try:
        run_table(only20, [("ATE0\r", "ATE0\r" + ok()), ("AT+FCLASS=?\r", ok("0,2.0")),
                           ("AT+FCLASS?\r", ok("2.0")), ("AT+FCLASS=1\r", ERROR), ("AT+FCLASS=2\r", ERROR)])
    finally:
        only20.close()
    with pytest.raises(ValueError, match="quirk"):
        SoftModem("2", Exchange(exchange_name()), quirks=("nonsense",))


def _channels():
    """Two raw AT channels, numbers 100 and 200, on a new exchange."""
    base = f"softmodem://{{}}?exchange={exchange_name()}&rate_scale={SCALE}&ring_interval=2"
    return ATChannel(open_port(base.format(100))), ATChannel(open_port(base.format(200)))


def test_class2_exchange_with_xon_fet_and_rtc_appended():
    """The Class 2 sender's AT dialogue, line by line, to a Class 2.0 receiver."""
    a, b = _channels()
    page = sample_page(1)
    data = encode(page, "mr", rtc=False, bit_order="lsb")
    got = {}

    def receiver():
        b.check("ATE0")
        b.check("AT+FCLASS=2.0;+FNR=1,1,1,0;+FCC=1,5,0,2,1,0,0,0")
        b.wait_result(finals=("RING",), timeout=10)
        got["ata"] = b.command("ATA", timeout=20)
        got["fdr"] = b.command("AT+FDR", timeout=20)
        b.write(b"\x12")                                             # DC2
        got["data"] = b.read_data(timeout=20)
        got["ppm"] = b.wait_result(timeout=20)
        got["end"] = b.command("AT+FDR", timeout=20)

    thread = threading.Thread(target=receiver)
    thread.start()
    try:
        a.check("ATE0")
        a.check('AT+FCLASS=2;+FLID="+1 555 0100";+FDCC=1,5,0,2,1,0,0,0')
        time.sleep(0.2)
        dial = a.command("ATD200", timeout=30)
        assert (dial.lines, dial.result) == (["+FCON", "+FDIS:1,5,0,2,1,0,0,0"], "OK")
        fdt = a.command("AT+FDT", timeout=30)
        assert (fdt.lines, fdt.result) == (["+FDCS:1,5,0,2,1,0,0,0"], "CONNECT")
        a._fill(time.monotonic() + 2)
        assert a._buf.lstrip(b"\n")[:1] == b"\x11"                     # XON before data (SP-2388)
        a._buf.clear()
        a.write(dle_stuff(data) + b"\x10\x03")
        assert a.wait_result(timeout=30).result == "OK"              # DLE ETX: page drained
        fet = a.command("AT+FET=2", timeout=30)
        assert (fet.lines, fet.result) == (["+FPTS:1,64,0,0,0", "+FHNG:0"], "OK")
    finally:
        thread.join(30)
        a.port.close()
        b.port.close()
    assert got["ata"].lines == ["+FCO", '+FTI:"+1 555 0100"', "+FCS:1,5,0,2,1,0,0,0"]
    assert got["fdr"].result == "CONNECT"
    body = got["data"]
    assert rtc_bytes(True) in body                                   # the modem appended RTC
    assert decode(body, "mr", 1728, bit_order="lsb").page == page
    assert got["ppm"].lines == ["+FPS:1,64,0,0,0", "+FET:2"]
    assert (got["end"].lines, got["end"].result) == (["+FHS:00"], "OK")


# --- hang-up codes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dialect, line, code, completion", [
    (CLASS2, "+FHNG:0", 0, Completion.OK),
    (CLASS2, "+FHNG:52", 52, Completion.NO_PPM_RESPONSE),
    (CLASS2, "+FHNG:101", 101, Completion.PROTOCOL_ERROR),
    (CLASS2, "+FHNG:27", 27, Completion.TRAINING_FAILED),
    (CLASS20, "+FHS:00", 0, Completion.OK),
    (CLASS20, "+FHS:52", 0x52, Completion.NO_PPM_RESPONSE),   # hex 52 is 82 decimal: not a Class 2 table
    (CLASS20, "+FHS:A1", 0xA1, Completion.PROTOCOL_ERROR),    # fax-protocol.md §3.2 #3
    (CLASS20, "+FHS:27", 0x27, Completion.TRAINING_FAILED),
    (CLASS20, "+FHS:73", 0x73, Completion.T2_EXPIRED),
])
def test_hangup_codes_decimal_versus_hex(dialect, line, code, completion):
    assert dialect.parse_hangup(line) == code
    assert hangup_completion(dialect, code)[0] is completion
    with pytest.raises(ValueError):
        (CLASS2 if dialect is CLASS20 else CLASS20).parse_hangup(line)


def test_hangup_tables_agree_and_format():
    assert len(CLASS2_HANGUP) == len(CLASS20_HANGUP)
    for decimal, meaning in CLASS2_HANGUP.items():
        assert CLASS20_HANGUP[class2_code(decimal, CLASS20)] == meaning
    assert CLASS20.format_hangup(class2_code(101, CLASS20)) == "+FHS:A1"
    assert CLASS2.format_hangup(101) == "+FHNG:101"
    assert hangup_completion(CLASS20, 0xE7)[0] is Completion.PROTOCOL_ERROR


def test_params_and_helpers():
    p = Params.parse("1,3,0,2,1,0,0,4")
    assert (p.resolution.name, p.bps, p.coding, p.width, p.min_bits()) == ("FINE", 9600, "mr", 1728, 96)
    assert Params.from_dis(p.dis()) == Params(vr=1, br=3, wd=0, ln=2, df=1, st=4)
    assert str(Params.parse("+FCS: 0,5,0,2,0,0,0,0")) == "0,5,0,2,0,0,0,0"
    assert choose_class(["0", "1", "2", "2.0"]) == "1"
    assert choose_class(["0", "2", "2.0"]) == "2.0"
    assert choose_class(["0", "1", "2"], class1_available=False) == "2"
    with pytest.raises(ModemError):
        choose_class(["0"])
    assert Quirks.parse("reverse_rx, host_rtc") == Quirks(reverse_rx=True, host_rtc=True)
    with pytest.raises(ModemError, match="unknown Class 2 quirk"):
        Quirks.parse(["reverse"])
    fine = sample_page(1)
    assert halve_rows(fine).height == fine.height // 2 and fit_width(fine, 2048).width == 2048
    assert rtc_bytes(False) == bytes.fromhex("00 08 80 00 08 80 00 08 80")   # 6 × EOL, LSB first


# --- calls through the softmodem line ----------------------------------------------------------------

def call(tx_class, rx_class, pages, *, tx="", rx="", tx_quirks=Quirks(), rx_quirks=Quirks(), rx_wait=20.0):
    """One call: sender (class ``tx_class``) on number 100, receiver on 200; faults / personality
    options as URL suffixes. Returns (sender result, receiver result)."""
    name = exchange_name()
    base = f"softmodem://{{}}?exchange={name}&rate_scale={SCALE}&ring_interval=2"
    rx_port, tx_port = open_port(base.format(200) + rx), open_port(base.format(100) + tx)
    out = {}

    def answer():
        if rx_class == "1":
            out["rx"] = Class1Modem(ATChannel(rx_port), ident="+1 555 0199", timers=FAST).receive(wait=rx_wait)
        else:
            out["rx"] = Class2Modem(rx_port, fax_class=rx_class, ident="+1 555 0199",
                                    quirks=rx_quirks).receive(wait=rx_wait)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        if tx_class == "1":
            tx_result = Class1Modem(ATChannel(tx_port), ident="+1 555 0100", timers=FAST).send("200", pages)
        else:
            tx_result = Class2Modem(tx_port, fax_class=tx_class, ident="+1 555 0100",
                                    quirks=tx_quirks).send("200", pages)
    finally:
        thread.join(rx_wait + 30)
        tx_port.close()
        rx_port.close()
    return tx_result, out.get("rx")


def confirmed(result) -> int:
    return result.confirmed_pages if hasattr(result, "confirmed_pages") else result.confirmed


PAGES = [sample_page(1), sample_page(2)]


@pytest.mark.parametrize("tx_class, rx_class",
                         [(t, r) for t in ("1", "2", "2.0") for r in ("1", "2", "2.0") if (t, r) != ("1", "1")])
def test_class_matrix_pixel_for_pixel(tx_class, rx_class):
    tx, rx = call(tx_class, rx_class, PAGES)
    assert tx.completion is Completion.OK, tx
    assert confirmed(tx) == 2 and tx.delivery_error is None
    assert rx.completion is Completion.OK, rx
    assert rx.received == PAGES
    assert rx.remote_ident == "+1 555 0100" and tx.remote_ident == "+1 555 0199"


def test_mixed_resolutions_go_as_two_documents():
    pages = [sample_page(1), sample_page(2, yres=98.0), sample_page(3, yres=98.0)]
    tx, rx = call("2.0", "2", pages)
    assert tx.completion is Completion.OK and confirmed(tx) == 3
    assert rx.received == pages
    assert rx.negotiated.vr == 0


@pytest.mark.parametrize("tx_class", ["2", "2.0"])
@pytest.mark.parametrize("fault, completion, error", [
    ("&busy=1", Completion.BUSY, "busy"),
    ("&no_answer=1", Completion.NO_ANSWER, "no_answer"),
    ("&cut=answer", Completion.NO_CARRIER, "no_carrier"),     # answered and gone at once: ATD → NO CARRIER
])
def test_phase_a_faults_at_the_receiver(tx_class, fault, completion, error):
    tx, _ = call(tx_class, "2.0", PAGES[:1], rx=fault, rx_wait=1.0)
    assert tx.completion is completion and tx.delivery_error.code == error
    assert confirmed(tx) == 0


@pytest.mark.parametrize("tx_class, rx_class", [("2.0", "1"), ("2", "2.0")])
@pytest.mark.parametrize("where, tx_fault, rx_fault, code, completion", [
    ("B: every DCS lost", "&drop=82*", "", 25, Completion.NO_RESPONSE),
    ("B: training fails", "&ber=0.02&seed=3", "", 27, Completion.TRAINING_FAILED),
    ("C: carrier cut in the page", "&cut=data:2@300", "", 40, Completion.LINE_DROPPED),
    ("D: every MCF lost", "", "&drop=8C*", 54, Completion.NO_PPM_RESPONSE),
])
def test_faults_in_each_phase(tx_class, rx_class, where, tx_fault, rx_fault, code, completion):
    tx, rx = call(tx_class, rx_class, PAGES[:1], tx=tx_fault, rx=rx_fault, rx_wait=15.0)
    dialect = CLASS2 if tx_class == "2" else CLASS20
    if where.startswith("D") and rx_class != "1":
        # A T.30 receiver stops waiting for DCN after T2 (7 s) — before the sender's third EOP
        # (3 × T4 = 10.35 s): the sender's modem then sees the line go, "unspecified phase D".
        code, completion = 50, Completion.LINE_DROPPED
    assert tx.hangup == dialect.format_hangup(class2_code(code, dialect)), (where, tx.hangup, tx.detail)
    assert tx.completion is completion, where
    assert tx.delivery_error is not None and tx.delivery_error == completion.delivery_error
    assert confirmed(tx) == 0, "a page must never count as sent without MCF"
    assert rx.completion is not Completion.OK or where.startswith("D")


def test_rejected_page_is_retried_then_given_up():
    """The sender's modem reverses the page bits (a quirk the driver does not know): RTN thrice."""
    tx, rx = call("2", "2.0", PAGES[:1], tx="&quirks=reverse_tx")
    assert [p.response for p in tx.pages] == ["RTN", "RTN", "RTN"]
    assert tx.completion is Completion.PAGE_REJECTED and tx.delivery_error.code == "page_rejected"
    assert confirmed(tx) == 0 and rx.received == []


@pytest.mark.parametrize("side", ["tx", "rx"])
def test_bit_order_quirk_needs_the_matching_driver_switch(side):
    modem_quirk = "&quirks=reverse_tx" if side == "tx" else "&quirks=reverse_rx"
    switch = Quirks(reverse_tx=True) if side == "tx" else Quirks(reverse_rx=True)
    kwargs = {side: modem_quirk, f"{side}_quirks": switch}
    tx, rx = call("2.0", "2", PAGES[:1], **kwargs)
    assert tx.completion is Completion.OK and rx.received == PAGES[:1]
    if side == "rx":
        kwargs.pop("rx_quirks")
        tx, rx = call("2.0", "2", PAGES[:1], **kwargs)
        assert rx.received == [] and [p.response for p in rx.pages][:1] == ["RTN"]   # our check says no


@pytest.mark.parametrize("modem_rtc, driver_rtc, terminated", [
    ("", False, True),                     # the modem appends RTC
    ("&quirks=host_rtc", False, False),    # a modem that does not: the page ends without RTC
    ("&quirks=host_rtc", True, True),      # ... unless the host appends it
])
def test_rtc_by_host_or_modem(modem_rtc, driver_rtc, terminated):
    tx, rx = call("2", "2", PAGES[:1], tx=modem_rtc, tx_quirks=Quirks(host_rtc=driver_rtc))
    assert tx.completion is Completion.OK and rx.received == PAGES[:1]
    assert rx.pages[0].terminated is terminated


def test_line_counts_not_to_be_trusted():
    tx, rx = call("2.0", "2.0", PAGES[:1], tx="&quirks=bogus_counts", rx="&quirks=bogus_counts")
    assert tx.pages[0].line_counts[0] == 0 and rx.pages[0].line_counts[0] == 0   # +FPS:1,0,0,0,0
    assert tx.completion is Completion.OK and rx.received == PAGES[:1]            # our own decode decides


def test_device_wrappers_and_auto_class(tmp_path):
    name = exchange_name()
    base = f"softmodem://{{}}?exchange={name}&rate_scale={SCALE}&ring_interval=2"
    from drivers import class2

    assert class2.probe_classes(base.format(300) + "&class=2,2.0") == ["0", "2", "2.0"]
    out = {}
    holder = open_port(base.format(200))      # keeps the exchange alive; the receiver opens 200 itself
    holder.close()
    thread = threading.Thread(target=lambda: out.setdefault("rx", class2.receive(base.format(200), fax_class="2",
                                                                                  wait=20)))
    thread.start()
    time.sleep(0.3)
    tx = class2.send(base.format(100), "200", PAGES, log=tmp_path / "tx.log", ident="+1 555 0100")
    thread.join(30)
    assert tx.ok and tx.confirmed_pages == 2 and (tmp_path / "tx.log").exists()
    assert out["rx"].ok and out["rx"].received == PAGES
