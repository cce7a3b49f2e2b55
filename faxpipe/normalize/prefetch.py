"""Producing the next page while the current one is finished: a source's page generator runs in
a worker thread one page ahead of its consumer. PDFium (through ctypes), Pillow and the C
bilevel and codec code release the GIL, so rendering page n + 1 overlaps thresholding and
coding page n on a second core. At most ``depth`` pages wait; errors reach the consumer."""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


def ahead(make: Callable[[], Iterator[T]], depth: int = 1, count: int | None = None) -> Iterator[T]:
    """Iterate ``make()`` in a worker thread; stopping early stops (and closes) the producer.

    ``count``: how many items ``make()`` will give, when known. With one (or none) there is
    nothing to overlap, so the items are made in the caller's thread: no thread to start, no
    hand-over, and the page stays in the cache of the core that finishes it."""
    if count is not None and count <= 1:
        yield from _here(make)
        return
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message) -> bool:
        while not stop.is_set():
            try:
                slots.put(message, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        items = None
        try:
            items = make()
            for item in items:
                if not put((True, item)):
                    return
            put((None, _DONE))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put((False, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name="faxpipe-render", daemon=True)
    worker.start()
    try:
        while True:
            ok, item = slots.get()
            if ok is None:
                return
            if ok is False:
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _here(make: Callable[[], Iterator[T]]) -> Iterator[T]:
    items = make()
    try:
        yield from items
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
