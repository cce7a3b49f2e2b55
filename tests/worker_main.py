"""A worker process for the multi-process tests: faxpipe's Worker with the scripted fake
sender (tests/fakesender.py). ``python tests/worker_main.py --db URL --data-dir DIR --log FILE
[--delay S] [--lease S] [--modems N]``; runs until killed or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fakesender import ScriptedSender  # noqa: E402

from faxpipe.jobs.config import Config, ModemConfig  # noqa: E402
from faxpipe.jobs.store import Store  # noqa: E402
from faxpipe.jobs.worker import Worker  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--db")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--lease", type=float, default=30.0)
    p.add_argument("--modems", type=int, default=2)
    args = p.parse_args()
    modems = tuple(ModemConfig(f"m{i}", f"fake://{i}") for i in range(args.modems))
    store = Store.open(args.data_dir, args.db)
    worker = Worker(store, Config(modems=modems, lease=args.lease), args.data_dir,
                    sender=ScriptedSender(delay=args.delay, log=args.log), poll=0.05)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker.start()
    print("ready", flush=True)
    stop.wait()
    worker.stop(timeout=10)
    store.close()


if __name__ == "__main__":
    main()
