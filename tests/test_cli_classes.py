"""``faxpipe send / receive --class 1|2|2.0|auto`` through the software modem's personalities."""

import itertools
import os
import threading
import time

import pytest

from faxpipe import tiff
from faxpipe.cli import main

_names = itertools.count()


@pytest.mark.parametrize("tx_class,rx_class", [("2.0", "1"), ("auto", "2"), ("2", "2.0")])
def test_cli_send_and_receive_in_each_class(tmp_path, capsys, tx_class, rx_class):
    doc = tmp_path / "note.txt"
    doc.write_text(f"Class {tx_class} to Class {rx_class}\n")
    name = f"cli-classes-{os.getpid()}-{next(_names)}"
    # A modem asked for --class auto offers 1, 2 and 2.0: auto must then pick 1.
    modem_class = {"auto": "1", "1": "1"}.get(tx_class, tx_class)
    tx_url = f"softmodem://100?exchange={name}&rate_scale=20&ring_interval=2&class={modem_class}"
    rx_url = f"softmodem://200?exchange={name}&rate_scale=20&ring_interval=2&class={rx_class}"
    codes = {}
    ready = threading.Event()

    def receive():
        ready.set()
        codes["rx"] = main(["receive", "--device", rx_url, "--class", rx_class, "-o", str(tmp_path / "in"),
                            "--wait", "40"])

    thread = threading.Thread(target=receive)
    thread.start()
    ready.wait()
    time.sleep(0.5)
    codes["tx"] = main(["send", "--device", tx_url, "--class", tx_class, "200", str(doc)])
    thread.join(90)
    out = capsys.readouterr().out
    assert codes == {"tx": 0, "rx": 0}, out
    if tx_class == "auto":
        assert "using Class 1" in out
    (written,) = (tmp_path / "in").glob("fax-*.tif")
    from faxpipe.normalize import convert

    sent = list(convert([str(doc)]).pages)
    got = [p.page for p in tiff.read(written)]
    assert len(got) == len(sent) and all(g.data == s.data for g, s in zip(got, sent))
