"""``faxpipe worker``: run the modem pool of ``--config`` against the queue, without the API
(several hosts can share one PostgreSQL queue)."""

from __future__ import annotations

import logging
import signal
import threading

from . import EXIT_USAGE, dbargs


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("worker", help="send queued faxes through the configured modems",
                              description="Claim queued faxes and send them, until interrupted.")
    dbargs.add(p)
    p.add_argument("--config", metavar="FILE", required=True, help="TOML with [[modem]] entries")
    p.add_argument("--poll", type=float, default=1.0, metavar="S", help="seconds between queue polls")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..jobs import config as _config
    from ..jobs.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = _config.load(args.config)
    if not config.modems:
        logging.error("%s has no [[modem]] entries", args.config)
        return EXIT_USAGE
    store = dbargs.open_store(args)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker = Worker(store, config, args.data_dir, sender=modem_sender(), poll=args.poll)
    worker.start()
    try:
        stop.wait()
    finally:
        worker.stop(timeout=30)
        store.close()
    return 0


def modem_sender():
    """The sender the worker dials with, by the modem's class: drivers.class1 or drivers.class2
    (imported here, lazily: faxpipe itself never imports drivers)."""
    from drivers import class1, class2

    def send_fax(modem, number, tiff_path, transcript_path, progress=None, first_page=1, attempt=1):
        if modem.fax_class == "1":
            return class1.send_fax(modem, number, tiff_path, transcript_path, progress=progress,
                                   first_page=first_page, attempt=attempt)
        return class2.class2_send(modem, number, tiff_path, transcript_path, first_page=first_page,
                                  attempt=attempt)

    return send_fax
