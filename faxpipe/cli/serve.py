"""``faxpipe serve``: the UAPI fax endpoints (uvicorn) and, unless ``--no-worker``, a worker
running the modem pool of ``--config``."""

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
    p.set_defaults(run=run)


def run(args) -> int:
    import uvicorn

    from ..api import FaxApi
    from ..jobs import config as _config
    from ..jobs.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = _config.load(args.config)
    store = dbargs.open_store(args)
    worker = None
    if not args.no_worker:
        from .worker import modem_sender

        worker = Worker(store, config, args.data_dir, sender=modem_sender())
        if not config.modems:
            logging.getLogger("faxpipe.worker").warning("no modems configured (--config): faxes stay queued")
        worker.start()
    try:
        uvicorn.run(FaxApi(store, args.data_dir, config), host=args.host, port=args.port,
                    log_level="info")
    finally:
        if worker is not None:
            worker.stop(timeout=5)
        store.close()
    return 0
