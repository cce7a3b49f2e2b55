"""``faxpipe serve``: the UAPI fax endpoints (uvicorn) and, unless ``--no-worker``, a worker
running the modem pool of ``--config``.

With no ``[[modem]]`` in the configuration (or no configuration at all) the worker dials through
a software modem pair on an in-process exchange whose far end answers every number and files
each fax it receives under ``DATA/received/`` (TIFF-F, preview PNG, transcript): see
:mod:`faxpipe.cli.farend`. Its line runs ``[softmodem] rate_scale`` times faster than real time
(default 20, so a one-page fax takes seconds; 1 = the real line rate)."""

from __future__ import annotations

import logging

from . import dbargs


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("serve", help="serve the fax API (and run a worker)",
                              description="Serve POST/GET/DELETE /uapi/faxes/… and send the queued faxes.")
    dbargs.add(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--config", metavar="FILE", help="TOML: modems, retry policy, API limits")
    p.add_argument("--no-worker", action="store_true", help="serve the API only")
    p.add_argument("--converters", type=int, metavar="N", default=None,
                   help="conversion worker processes (default: one per core; 0: threads in the "
                        "server process)")
    p.set_defaults(run=run)


def run(args) -> int:
    import uvicorn

    from ..api import FaxApi
    from ..cores import usable_cores
    from ..jobs import config as _config
    from ..jobs.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = _config.load(args.config)
    store = dbargs.open_store(args)
    worker = far_end = None
    if not args.no_worker:
        from .worker import modem_sender

        if not config.modems:
            config, far_end = default_pair(config, args.data_dir)
        worker = Worker(store, config, args.data_dir, sender=modem_sender())
        worker.start()
    try:
        processes = args.converters if args.converters is not None else usable_cores()
        uvicorn.run(FaxApi(store, args.data_dir, config, processes=max(0, processes)), host=args.host,
                    port=args.port, log_level="info")
    finally:
        if worker is not None:
            worker.stop(timeout=5)
        if far_end is not None:
            far_end.stop(timeout=5)
        store.close()
    return 0


def default_pair(config, data_dir):
    """``config`` with one software modem dialling out, and the started far end that answers it."""
    import dataclasses
    from pathlib import Path

    from ..jobs.config import ModemConfig
    from .farend import FarEnd, pair_urls

    scale = config.softmodem.rate_scale
    caller, answerer = pair_urls(scale)
    far_end = FarEnd(answerer, Path(data_dir) / "received").start()
    logging.getLogger("faxpipe.worker").info(
        "no [[modem]] configured: sending through a software modem pair (line at %g× real time); "
        "the far end answers every number and files the faxes in %s", scale, far_end.out)
    modem = ModemConfig("softmodem", caller, station_id="+1 555 0100")
    return dataclasses.replace(config, modems=(modem,)), far_end
