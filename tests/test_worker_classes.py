"""The worker dials with the driver of each modem's class: a Class 2.0 and a Class 2 modem in
the pool deliver through the software modem to the Class 1 far end of ``faxpipe serve``."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest

from faxpipe import tiff
from faxpipe.cli import serve
from faxpipe.cli.worker import modem_sender
from faxpipe.jobs import Config, NewFax, RetryPolicy, Store, Worker
from faxpipe.jobs import config as jobs_config
from faxpipe.normalize import convert


@pytest.mark.parametrize("fax_class", ["2.0", "2"])
def test_worker_delivers_through_a_class_2_modem(tmp_path, fax_class):
    store = Store.open(tmp_path)
    store.accounts.add_org("acme")
    user = store.accounts.add_user("alice", "acme")
    extension = store.accounts.add_extension("0003*210", "alice")
    pages = list(convert([("fax.txt", b"Class 2 from the queue\n")], "fine").pages)
    document = tmp_path / "faxes" / "doc.tif"
    document.parent.mkdir(parents=True)
    tiff.write(document, pages, "g4")
    fax_id = store.submit(NewFax(user, extension, os.urandom(16).hex(), len(pages), "fine", str(document),
                                 ("7778888",), RetryPolicy(3, 0.0)))[0]
    config, far_end = serve.default_pair(Config(), tmp_path)
    modem = config.modems[0]
    modem = dataclasses.replace(modem, device=f"{modem.device}&class={fax_class}", fax_class=fax_class)
    config = dataclasses.replace(config, modems=(modem,))
    try:
        worker = Worker(store, config, tmp_path, sender=modem_sender(), poll=0.05)
        assert worker.run_once(modem)
        deadline = time.time() + 20
        while not far_end.received and time.time() < deadline:
            time.sleep(0.05)
    finally:
        far_end.stop()
    recipient = store.fax(fax_id)["recipients"][0]
    assert (recipient["state"], recipient["pages_sent"]) == ("delivered", 1), recipient
    [got] = far_end.received
    assert [p.page for p in tiff.read(got.tiff)] == pages
    store.close()


def test_modem_quirks_in_the_configuration(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[[modem]]\ndevice = "/dev/ttyS0"\nclass = "2.0"\nquirks = ["reverse_tx", "host_rtc"]\n')
    assert jobs_config.load(str(path)).modems[0].quirks == ("reverse_tx", "host_rtc")
    path.write_text('[[modem]]\ndevice = "/dev/ttyS0"\nquirks = "reverse_tx"\n')
    with pytest.raises(jobs_config.ConfigError, match="quirks"):
        jobs_config.load(str(path))


@pytest.mark.parametrize("fax_class", ["1", "2.0"])
def test_a_retry_call_carries_only_the_remaining_pages(tmp_path, fax_class):
    """The real senders with first_page / attempt: pages 3.. of the document go out, numbered as
    the document's, at 9 600 bit/s at most on a second attempt."""
    from faxpipe.cli.worker import modem_sender

    pages = list(convert([("fax.txt", b"one\fpage two\fpage three\n")], "standard").pages)
    assert len(pages) == 3
    document = tmp_path / "doc.tif"
    tiff.write(document, pages, "g4")
    config, far_end = serve.default_pair(Config(), tmp_path)
    modem = config.modems[0]
    if fax_class != "1":
        modem = dataclasses.replace(modem, device=f"{modem.device}&class={fax_class}", fax_class=fax_class)
    try:
        outcome = modem_sender()(modem, "7778888", str(document), str(tmp_path / "t.log"),
                                 first_page=3, attempt=2)
        deadline = time.time() + 20
        while not far_end.received and time.time() < deadline:
            time.sleep(0.05)
    finally:
        far_end.stop()
    assert [(p.page, p.confirmed) for p in outcome.pages] == [(3, True)]
    assert outcome.delivered(3, already=2) and not outcome.delivered(3)
    [got] = far_end.received
    assert [p.page for p in tiff.read(got.tiff)] == pages[2:]
    if fax_class == "1":
        assert "9600" in (tmp_path / "t.log").read_text() or "+FTM=96" in (tmp_path / "t.log").read_text()
