"""faxpipe modem probe / test / replay (drivers.probe, drivers.modemtest, drivers.replay).

Like pyserial's run_all_tests against ``loop://`` or a real port, the same checks run against
every software modem personality (Class 1, 2, 2.0, all three) as a pyserial URL and on a pty, and
against spandsp's real T.31 modem on a pty; expected reports are checked field by field. Devices
that are not modems (silent, echoing, babbling, absent) get their verdict within the timeout.
Recorded sessions (fixtures/transcripts, made by fixtures/make_transcripts.py) drive faxpipe's
Class 1 and Class 2 / 2.0 drivers through whole calls; altered recordings report the first
divergence.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_peer_spandsp import modem_peer  # noqa: E402
from test_softmodem import serve_pair  # noqa: E402

from drivers import class1, modemtest, probe, replay  # noqa: E402
from drivers.at import ATChannel, Transcript, open_port  # noqa: E402
from drivers.class2 import Class2Modem  # noqa: E402
from faxpipe import codec, tiff  # noqa: E402
from faxpipe.cli import main  # noqa: E402
from faxpipe.jobs import config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "transcripts"
sys.path.insert(0, str(ROOT / "fixtures"))
from make_transcripts import IDENT, fixture_page  # noqa: E402

ALL_CODES = [24, 48, 72, 73, 74, 96, 97, 98, 121, 122, 145, 146]
SUMMARY = ["V.27ter 2400/4800", "V.29 7200/9600", "V.17 7200-14400"]
_names = itertools.count()


def url(fax_class: str | None = None, number: str = "100", scale: int = 20) -> str:
    name = f"mt-{os.getpid()}-{next(_names)}"
    base = f"softmodem://{number}?exchange={name}&rate_scale={scale}&ring_interval=1"
    return base + (f"&class={fax_class}" if fax_class else "")


# --- probe: software modems ------------------------------------------------------------------------

def check_class1(report):
    c1 = report.class1
    assert c1["tx"] == ALL_CODES and c1["rx"] == ALL_CODES
    assert c1["tx_hdlc"] == [3] and c1["rx_hdlc"] == [3]
    assert c1["tx_summary"] == SUMMARY and c1["rx_summary"] == SUMMARY
    assert c1["tx_names"][0] == "V.27ter 2400" and c1["tx_names"][-1] == "V.17 14400 short"
    assert "V.17 7200 long" in c1["tx_names"] and c1["max_tx_rate"] == 14400
    assert report.bit_order["1"].startswith("LSB first")


def check_class2(report, cls):
    caps = report.class2[cls]
    assert caps["raw"] == "(0,1),(0-5),(0-2),(0-2),(0,1),(0),(0),(0-7)"
    assert caps["rates"] == [2400, 4800, 7200, 9600, 12000, 14400] and caps["max_rate"] == 14400
    assert caps["resolutions"] == ["standard 98 lpi", "fine 196 lpi"]
    assert caps["widths"] == ["1728 (A4)", "2048 (B4)", "2432 (A3)"]
    assert caps["lengths"] == ["A4", "B4", "unlimited"]
    assert caps["codings"] == ["MH", "MR"] and caps["faxpipe_codings"] == ["mh", "mr"]
    assert caps["ecm"] == ["none"] and not caps["ecm_capable"] and not caps["bft"]
    assert caps["scan_times"][0] == "0/0 ms" and caps["scan_times"][-1] == "40/40 ms" and len(caps["scan_times"]) == 8
    assert report.bit_order[cls].startswith(("+FBOR=(0-3)", "+FBO=(0-3)")) and "reversible" in report.bit_order[cls]


def parsed_entry(report, **kw):
    import tomllib

    return config.parse(tomllib.loads(report.config_entry(**kw))).modems[0]


@pytest.mark.parametrize("classes", ["1", "2", "2.0", "1,2,2.0"])
def test_probe_softmodem_personalities(classes):
    device = url(classes)
    start = time.monotonic()
    report = probe.probe_device(device)
    assert time.monotonic() - start < 5
    wanted = classes.split(",")
    assert report.verdict == "fax-modem" and report.ok and report.detail == f"Class {', '.join(wanted)}"
    assert report.classes == ["0"] + wanted and report.fax_classes == wanted
    assert report.identity["ATI0"] == "faxpipe softmodem" and report.identity["+GMI"] == "faxpipe"
    assert report.identity["+GMM"] == "softmodem" and report.identity["+FMR"] == "0.1"
    assert "ATI2" not in report.identity     # a bare OK, not an identity
    assert report.unanswered == [] and not report.echo is None
    assert report.flow["+FLO"].startswith("0-2") or report.flow["+FLO"].startswith("(0-2)")
    if "1" in wanted:
        check_class1(report)
    else:
        assert report.class1 == {}
    for cls in ("2", "2.0"):
        if cls in wanted:
            check_class2(report, cls)
            assert report.identity[{"2": "+FMFR", "2.0": "+FMI"}[cls]] == "faxpipe"
        else:
            assert cls not in report.class2
    entry = parsed_entry(report, name="bench", station_id="+1 555 0100")
    best = "1" if "1" in wanted else wanted[-1] if wanted == ["2.0"] else wanted[0]
    assert (entry.name, entry.device, entry.fax_class) == ("bench", device, best)
    assert entry.max_rate == 14400 and entry.ecm is (best == "1") and entry.station_id == "+1 555 0100"
    assert "fax classes" in report.table() and json.loads(report.to_json())["verdict"] == "fax-modem"


def test_probe_the_same_on_a_pty():
    """A softmodem on a pty gives the report the URL gives (only the device differs)."""
    with serve_pair(10) as [(dev_a, _), _]:
        on_pty = probe.probe_device(dev_a)
    on_url = probe.probe_device(url())
    assert on_pty.verdict == "fax-modem" and on_pty.classes == on_url.classes == ["0", "1", "2", "2.0"]
    for key in ("identity", "class1", "class2", "bit_order"):
        assert getattr(on_pty, key) == getattr(on_url, key), key
    assert on_pty.flow["port CTS"].startswith("not readable") and on_pty.flow["use"] == "xonxoff"


def test_probe_spandsp_t31():
    """spandsp's T.31 modem: Class 1 only (0,1,1.0), echo on at first, every V.17 code."""
    peers = modem_peer()
    with peers.start_spandsp_modem("answer", receive="/dev/null", timeout=30) as modem:
        report = probe.probe_device(modem.pty)
    assert report.verdict == "fax-modem" and report.detail == "Class 1", report.table()
    assert report.classes == ["0", "1", "1.0"] and report.echo
    assert "soft-switch" in report.identity["ATI3"]
    check_class1(report)
    assert report.class2 == {}
    entry = parsed_entry(report)
    assert entry.fax_class == "1" and entry.max_rate == 14400 and entry.ecm   # faxpipe's own ECM


# --- probe: devices that are not fax modems ----------------------------------------------------------

@contextlib.contextmanager
def fake_device(behaviour: str):
    """A pty whose other end is silent, echoes, or sends binary junk."""
    master, slave = os.openpty()
    import tty

    tty.setraw(slave)
    stop = threading.Event()

    def serve():
        import select

        while not stop.is_set():
            if not select.select([master], [], [], 0.1)[0]:
                continue
            try:
                data = os.read(master, 1024)
            except OSError:
                return
            if behaviour == "echo":
                os.write(master, data.replace(b"\r", b"\r\n"))
            elif behaviour == "garbage":
                os.write(master, bytes(range(0x80, 0x100)) * 3)
            elif behaviour == "chatter":
                os.write(master, b"\r\n$GPGGA,123519,4807.038,N\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    if behaviour != "silent":
        thread.start()
    try:
        yield os.ttyname(slave)
    finally:
        stop.set()
        thread.join(1) if thread.is_alive() else None
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("behaviour, verdict", [("silent", "silent"), ("echo", "echo"), ("garbage", "garbage"),
                                                ("chatter", "not-a-modem")])
def test_probe_non_modem_verdict_within_timeout(behaviour, verdict):
    with fake_device(behaviour) as device:
        start = time.monotonic()
        report = probe.probe_device(device, timeout=0.5)
        took = time.monotonic() - start
    assert report.verdict == verdict and not report.ok, report.table()
    assert took < 2 * 0.5 + 1.0, took
    assert report.detail and report.classes == [] and "no fax class" in report.config_entry()


def test_probe_modem_without_fax_and_unopenable():
    report = probe.ProbeReport(device="/dev/x", verdict="no-fax", classes=["0", "8"])
    assert report.best_class() is None and report.config_entry().startswith("# /dev/x")
    gone = probe.probe_device("/dev/does-not-exist-faxpipe")
    assert gone.verdict == "unopenable" and "cannot open" in gone.detail


def test_decoders():
    assert probe.parse_numbers("24,48,(72-74),96") == [24, 48, 72, 73, 74, 96]
    assert probe.modulation_name(98) == "V.17 9600 short" and probe.modulation_name(96) == "V.29 9600"
    assert probe.modulation_name(3) == "V.21 300" and probe.modulation_name(200) == "code 200"
    assert probe.summarise_modulations([24, 48, 72, 96]) == ["V.27ter 2400/4800", "V.29 7200/9600"]
    # a T.32 modem: hex VR bit map, V.34 rates, MMR and ECM
    caps = probe.decode_class2("(0-1F),(0-D),(0-4),(0-2),(0-3),(0-2),(0),(0-7)")
    assert caps["resolutions"][:3] == ["standard 98 lpi", "fine 196 lpi", "superfine 391 lpi"]
    assert caps["max_rate"] == 33600 and "MMR (T.6)" in caps["codings"] and caps["ecm_capable"]
    assert caps["widths"][-1] == "864"
    plain = probe.decode_class2("1,5,0,2,0,0,0,0")      # current values instead of ranges
    assert plain["rates"] == [14400] and plain["codings"] == ["MH"]


# --- test calls ------------------------------------------------------------------------------------

PAGES = None


def small_pages():
    global PAGES
    if PAGES is None:
        PAGES = modemtest.test_pages(rows=160)
    return PAGES


def test_standard_pages():
    text, letter, halftone = modemtest.test_pages(rows=None)
    for page in (text, letter, halftone):
        assert (page.width, page.height, page.yres) == (1728, 2287, 196.0)
    black = [sum(bin(b).count("1") for b in p.data) / (p.width * p.height) for p in (text, letter, halftone)]
    assert black[1] < black[0] < black[2] and 0.3 < black[2] < 0.7, black     # sparse, dense, grey
    with pytest.raises(ValueError):
        modemtest.test_pages(["chart"])


@pytest.mark.parametrize("fax_class", ["1", "2", "2.0"])
def test_modem_test_softmodem_calls(fax_class, tmp_path):
    device = url(fax_class)
    pages = small_pages()
    far = modemtest.SoftmodemFarEnd(device, "200")
    report = modemtest.test_device(device, number="200", fax_class="auto", pages=pages, log=tmp_path / "t.log",
                                   ident=IDENT)
    far_result = far.join(30)
    assert report.ok and far_result.ok, report.table()
    assert (report.role, report.fax_class, report.completion) == ("calling", fax_class, "OK")
    # Class 1: faxpipe's own T.30 with ECM and the coding of fewest bits; Class 2 / 2.0: the modem's, MR
    assert (report.rate, report.modulation, report.resolution, report.ecm, report.width) == \
        (14400, "V.17", "fine", fax_class == "1", 1728)
    assert report.coding == ("mmr" if fax_class == "1" else "mr") and report.remote_ident == "+1 555 0199"
    assert (report.trainings, report.retrains) == (1, 0)
    assert (report.pages_total, report.pages_confirmed, report.rate_scale) == (3, 3, 20.0)
    assert [p.number for p in report.pages] == [1, 2, 3] and {p.response for p in report.pages} == {"MCF"}
    for p in report.pages:
        assert p.octets > 0 and p.seconds > 0 and p.throughput == pytest.approx(p.octets * 8 / p.seconds)
        assert 0.02 < p.efficiency < 1.3, report.table()
    assert report.pages[2].octets > report.pages[1].octets          # the halftone is the big one
    if fax_class == "1":
        assert report.bad_rows is None    # the sender cannot see the receiver's rows
    else:
        assert report.bad_rows == 0       # the modem's +FPS line counts
    events = replay.load_transcript(report.transcript)
    assert replay.replayable(events) and any(e.what.startswith("page 3") for e in events if e.kind == "data")
    assert [p.data for p in far_result.received] == [p.data for p in pages]


def test_modem_test_answers(tmp_path):
    """--answer: the far end calls; we see the rows and bad rows of each page ourselves."""
    device = url("1")
    pages = small_pages()
    far = modemtest.SoftmodemFarEnd(device, "300", call="100", pages=pages)
    report = modemtest.test_device(device, answer=True, fax_class="1", log=tmp_path / "a.log", wait=20)
    assert far.join(30).ok and report.ok, report.table()
    assert report.role == "answering" and report.pages_confirmed == report.pages_total == 3
    assert [(p.rows, p.bad_rows, p.response) for p in report.pages] == [(160, 0, "MCF")] * 3
    assert report.bad_rows == 0 and all(p.seconds > 0 for p in report.pages)


@pytest.mark.parametrize("modems, rate, modulation", [(None, 14400, "V.17"), ("v29,v27ter", 9600, "V.29")])
def test_modem_test_spandsp(tmp_path, modems, rate, modulation):
    peers = modem_peer()
    pages = modemtest.test_pages(["letter"], rows=200)
    with peers.start_spandsp_modem("answer", receive=tmp_path / "rx.tif", timeout=60, modems=modems) as modem:
        report = modemtest.test_device(modem.pty, number="123", pages=pages, log=tmp_path / "s.log", ident=IDENT)
        peer = modem.wait(timeout=30)
    assert report.ok and peer.ok and peer.pages_rx == 1, report.table()
    assert (report.fax_class, report.rate, report.modulation, report.ecm) == ("1", rate, modulation, False)
    assert report.coding == peer.encoding and report.remote_ident == "+1 555 0199"
    assert report.pages[0].octets > 0 and report.pages[0].response == "MCF" and report.retrains == 0


def test_modem_test_answers_spandsp(tmp_path):
    """--answer on spandsp's T.31 modem: its T.30 terminal calls and sends two pages; the report
    counts the rows of each page we decoded ourselves, and both ends agree on the pages."""
    pages = modemtest.test_pages(["letter", "text"], rows=180)
    tx = tmp_path / "tx.tif"
    tiff.write(tx, pages, compression="g3-1d")
    with modem_peer().start_spandsp_modem("call", send=tx, timeout=60) as modem:
        report = modemtest.test_device(modem.pty, answer=True, fax_class="1", log=tmp_path / "a.log",
                                       wait=30)
        peer = modem.wait(timeout=30)
    assert report.ok and peer.ok and peer.pages_tx == 2, report.table()
    assert report.role == "answering" and report.pages_confirmed == report.pages_total == 2
    assert [(p.rows, p.bad_rows, p.response) for p in report.pages] == [(180, 0, "MCF")] * 2
    assert report.rate == peer.rate == 14400 and report.remote_ident


def test_cli_probe_and_test(tmp_path, capsys):
    device = url()
    assert main(["modem", "probe", device, "--json", "--name", "bench"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "fax-modem" and data["classes"] == ["0", "1", "2", "2.0"]
    assert 'name = "bench"' in data["config"] and data["best_class"] == "1"
    with fake_device("silent") as dead:
        assert main(["modem", "probe", dead, "--timeout", "0.3"]) == 1
        assert "silent" in capsys.readouterr().out
    assert main(["modem", "probe", "/dev/does-not-exist-faxpipe"]) == 3
    capsys.readouterr()
    assert main(["modem", "test", url("2.0"), "--to", "200", "--far-end", "softmodem", "--pages", "letter",
                 "--rows", "100", "--log", str(tmp_path / "cli.log")]) == 0
    out = capsys.readouterr().out
    assert "Class 2.0" in out and "1 of 1 confirmed" in out and str(tmp_path / "cli.log") in out
    assert main(["modem", "test", url(), "--to", "200", "--pages", "chart"]) == 2


# --- replay --------------------------------------------------------------------------------------------

def replay_call(events, role: str = "send", fax_class: str = "1", pages=None, idle: float = 3.0):
    """faxpipe's driver against a replayed session; returns (the call result, the replay result)."""
    pages = pages or [fixture_page()]
    with replay.PtyReplay(events, idle=idle) as server:
        port = open_port(server.path, baudrate=115200)
        try:
            if fax_class == "1":
                channel = ATChannel(port, transcript=Transcript())
                modem = class1.Class1Modem(channel, ident=IDENT if role == "send" else "+1 555 0199", flow="none")
                result = modem.send(dial_number(events), pages) if role == "send" else modem.receive(rings=1, wait=5)
            else:
                modem = Class2Modem(port, fax_class=fax_class, ident=IDENT)
                result = modem.send(dial_number(events), pages)
        finally:
            port.close()
        played = server.wait(0.6) or server.close()
    return result, played


def fixture(name: str):
    path = FIXTURES / name
    assert path.exists(), f"{path} missing: python fixtures/make_transcripts.py"
    return replay.load_transcript(path)


def dial_number(events) -> str:
    return next(e.text[3:] for e in events if e.direction == "TX" and e.text.startswith("ATD"))


@pytest.mark.parametrize("name", ["softmodem-class1-send.log", "spandsp-class1-send.log", "efax-class1-send.log"])
def test_replay_drives_class1_send(name):
    events = fixture(name)
    assert replay.replayable(events)
    pages = [fixture_page()]
    with replay.PtyReplay(events, idle=3.0) as server:
        port = open_port(server.path, baudrate=115200)
        channel = ATChannel(port, transcript=Transcript())
        start = time.monotonic()
        result = class1.Class1Modem(channel, ident=IDENT, flow="none").send(dial_number(events), pages)
        port.close()
        played = server.wait(0.6) or server.close()
    assert result.ok and result.confirmed_pages == 1, "\n".join(channel.transcript.lines[-20:])
    assert played.ok and played.played == played.events and played.approximate == 0, played.summary()
    assert time.monotonic() - start < 5


def test_replay_drives_class1_receive():
    result, played = replay_call(fixture("softmodem-class1-receive.log"), role="receive")
    assert played.ok, played.summary()
    assert result.ok and len(result.received) == 1 and result.received[0].data == fixture_page().data


@pytest.mark.parametrize("fax_class", ["2", "2.0"])
def test_replay_drives_class2(fax_class):
    result, played = replay_call(fixture(f"softmodem-class{fax_class}-send.log"), fax_class=fax_class)
    assert played.ok, played.summary()
    assert result.ok and result.confirmed_pages == 1


def altered(events, lineno: int, **changes):
    from dataclasses import replace

    return [replace(e, **changes) if e.lineno == lineno else e for e in events]


def test_replay_reports_the_first_divergence():
    events = fixture("spandsp-class1-send.log")
    # 1. a different page: the recorded page octets no longer match what the driver sends
    page_event = next(e for e in events if e.kind == "data" and e.what.startswith("page 1"))
    data = bytearray(page_event.data)
    data[100] ^= 0xFF
    start = time.monotonic()
    result, played = replay_call(altered(events, page_event.lineno, data=bytes(data)))
    assert not result.ok and time.monotonic() - start < 8
    d = played.divergence
    assert d is not None and d.lineno == page_event.lineno and d.reason == "different data", played.summary()
    assert "octet 100" in d.got and "DIVERGED" in played.summary()
    # 2. a different command: the recording asked for another modulation
    ftm = next(e for e in events if e.text == "AT+FTM=146")
    result, played = replay_call(altered(events, ftm.lineno, text="AT+FTM=96"))
    assert played.divergence.lineno == ftm.lineno and played.divergence.got == "AT+FTM=146"
    assert played.divergence.expected == "AT+FTM=96" and not result.ok
    # 3. a different station: the TSI frame carries another identity
    tsi = next(e for e in events if e.kind == "data" and e.what.startswith("TSI"))
    result, played = replay_call(events, pages=[fixture_page()])   # sanity: unaltered plays through
    assert played.ok
    with replay.PtyReplay(events, idle=2.0) as server:
        port = open_port(server.path, baudrate=115200)
        modem = class1.Class1Modem(ATChannel(port), ident="+1 555 0777", flow="none")
        assert not modem.send("123", [fixture_page()]).ok
        port.close()
        played = server.wait(0.6) or server.close()
    assert played.divergence.lineno == tsi.lineno and played.divergence.reason == "different data"


def test_transcript_formats():
    """Old transcripts (16-octet heads) still parse; full ones round-trip; bad lines are named."""
    t = Transcript(full_data=True)
    t.tx("AT+FTH=3")
    t.data("TX", bytes(range(40)), "DCS frame")
    t.rx("CONNECT")
    t.tx("<DLE><ETX>")
    old = Transcript()
    old.data("RX", bytes(range(40)), "frame")
    events = replay.parse_transcript("\n".join(t.lines + old.lines))
    full, head = events[2], events[-1]
    assert full.kind == "data" and full.full and full.data == bytes(range(40)) and full.what == "DCS frame"
    assert head.kind == "data" and not head.full and head.count == 40 and head.data == bytes(range(16))
    assert events[4].kind == "control" and events[4].data == b"\x10\x03"
    assert not replay.replayable(events)
    with pytest.raises(replay.TranscriptError, match="line 2"):
        replay.parse_transcript("    0.000 TX AT\nhello\n")


def test_probe_of_a_recorded_modem(tmp_path):
    """A probe's own transcript (no data) replays: probing the replay gives the same report."""
    log = tmp_path / "probe.log"
    first = probe.probe_device(url(), log=log)
    with replay.PtyReplay(replay.load_transcript(log), idle=2.0) as server:
        again = probe.probe_device(server.path)
        played = server.wait(0.6) or server.close()
    assert played.ok, played.summary()
    for key in ("verdict", "identity", "classes", "class1", "class2", "bit_order"):
        assert getattr(again, key) == getattr(first, key), key


def test_cli_replay(tmp_path):
    """faxpipe modem replay serves a transcript on a pty; exit 0 when the DTE matched, 1 when not."""
    source = FIXTURES / "softmodem-class1-send.log"
    for ident, code in ((IDENT, 0), ("+1 555 0777", 1)):
        proc = subprocess.Popen([sys.executable, "-m", "faxpipe", "modem", "replay", str(source), "--idle", "2"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            path = proc.stdout.readline().strip()
            port = open_port(path, baudrate=115200)
            result = class1.Class1Modem(ATChannel(port), ident=ident, flow="none").send("200", [fixture_page()])
            port.close()
            out, err = proc.communicate(timeout=15)
        finally:
            proc.kill() if proc.poll() is None else None
        assert proc.returncode == code and result.ok == (code == 0), out + err
        assert ("matched the recording" in out) == (code == 0) and ("DIVERGED" in out) == (code == 1)
