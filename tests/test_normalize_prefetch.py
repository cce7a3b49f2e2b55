"""The one-page-ahead worker: order kept, errors delivered, an early stop closes the producer."""

from __future__ import annotations

import threading

import pytest

from faxpipe.normalize.prefetch import ahead


def test_order_and_errors():
    assert list(ahead(lambda: iter(range(50)))) == list(range(50))

    def failing():
        yield 1
        raise ValueError("page 2 is bad")

    got = []
    with pytest.raises(ValueError, match="page 2 is bad"):
        for item in ahead(failing):
            got.append(item)
    assert got == [1]


def test_early_stop_closes_the_producer():
    closed, made = threading.Event(), []

    def producer():
        try:
            for i in range(1000):
                made.append(i)
                yield i
        finally:
            closed.set()

    items = ahead(producer)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()
    assert closed.is_set() and len(made) <= 6        # a page or two ahead, not the whole document


def test_one_item_is_made_in_the_callers_thread_and_closed():
    threads, closed = [], threading.Event()

    def producer():
        try:
            threads.append(threading.current_thread())
            yield "page"
        finally:
            closed.set()

    assert list(ahead(producer, count=1)) == ["page"]
    assert threads == [threading.current_thread()] and closed.is_set()
    assert list(ahead(lambda: iter(range(3)), count=3)) == [0, 1, 2]

    def failing():
        raise ValueError("unreadable")
        yield  # pragma: no cover - makes this a generator

    with pytest.raises(ValueError, match="unreadable"):
        list(ahead(failing, count=1))
