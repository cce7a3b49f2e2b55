"""A JPEG straight onto the grey page on two cores: libjpeg (the codec's ``_jpeg`` extension,
built against Debian's libjpeg62-turbo-dev) decodes it to grey at the smallest eighth that holds
the page, in bands, and the C triangle filter shrinks each band into the page's rows as soon as
the input rows under it have arrived.

Huffman decoding is sequential and is most of the decode, so the image is cut in two: this
thread decodes the top ``SPLIT_SHARE`` of the rows and shrinks them; a second thread's own
decoder entropy-decodes those rows without transforming them (``jpeg_skip_scanlines``, about
two thirds of the cost of decoding them), then decodes and shrinks the rest. On the bench's
3000×4000 photograph (5/8: 1875×2500) that is about 45 ms instead of one thread's 55-60. The rows are the same as one
decoder's (same library, same scaled inverse DCT), and the page the same as
:func:`~faxpipe.normalize.geometry.fit_grey` makes of them, pel for pel.

The cut needs a free core: while other tasks keep the other cores busy (another process, the
pages of a batch on every core), the second thread decodes the whole image instead and this one
only shrinks (:func:`default_split`). Progressive (multi-scan) files are read whole before their
first row, so they are not cut either. One core: one thread does it all in turn.
:func:`page` returns None for what it leaves to the other paths (no extension, CMYK / YCCK, a
size Pillow reads differently, content that is turned or not shrunk by the triangle filter, and
any file libjpeg fails or warns on: Pillow's verdict stands on those)."""

from __future__ import annotations

import threading
from bisect import bisect_right

from ..cores import usable_cores
from . import turbojpeg
from .geometry import SPLIT_PELS, Grey, Target, blank_rows, shrink_placement

try:
    from ..codec import _jpeg
except ImportError:  # built without libjpeg's headers: libturbojpeg (ctypes) or Pillow instead
    _jpeg = None

EIGHTHS = tuple((n, 8) for n in range(1, 9))
SPLIT_SHARE = 0.65  # of the rows decoded by this thread (the other entropy-decodes them first)
BAND = 64          # rows decoded per call
SHRINK = 160       # page rows shrunk per call, at least (but the last ones)


def available() -> bool:
    return _jpeg is not None


def _others_running() -> int:
    """Tasks running or ready to run on the machine right now besides this thread (the
    instantaneous count of /proc/loadavg); 0 where it cannot be read."""
    try:
        with open("/proc/loadavg", "rb") as f:
            return max(0, int(f.read().split()[3].split(b"/")[0]) - 1)
    except (OSError, ValueError, IndexError):
        return 0


def default_split(pels: int) -> float:
    """How much of an image of ``pels`` decoded pels this thread decodes: ``SPLIT_SHARE`` when a
    second core is free; all of it (0: the second thread, this one shrinking the rows as they
    come) when other work keeps the other cores busy, as the second decoder's skipping would
    then cost more than it saves (another process at 100 % on one of two cores: 58 → 78 ms);
    everything, in this thread, on one core or for a small image."""
    cores = usable_cores()
    if cores < 2 or pels < SPLIT_PELS:
        return 1.0
    return SPLIT_SHARE if _others_running() < cores - 1 else 0.0


def page(data, size: tuple[int, int], need: tuple[int, int], target: Target,
         xdpi: float | None = None, ydpi: float | None = None,
         split: float | None = None) -> Grey | None:
    """The grey page of an upright JPEG ``data`` (``size`` as Pillow read its header), decoded at
    the smallest eighth holding ``need`` pels; None leaves the file to the other paths.
    ``split``: the share of rows this thread decodes (default: :func:`default_split`)."""
    if _jpeg is None:
        return None
    try:
        top = _jpeg.Decoder(data)
        width, height, _, greyable, multiscan = top.header()
    except _jpeg.Error:
        return None
    if (width, height) != tuple(size) or not greyable:
        return None
    factor = turbojpeg.choose_factor(width, height, *need, factors=EIGHTHS)
    w, h = turbojpeg.scaled(width, factor), turbojpeg.scaled(height, factor)
    where = shrink_placement(target, w, h, xdpi, ydpi)
    if where is None:
        return None
    try:
        return _Bands(data, factor, w, h, target, where).run(top, multiscan, split)
    except _jpeg.Error:
        return None


class _Bands:
    """One decode: the source rows, the page, which rows have arrived and been shrunk.

    With a cut, each thread shrinks the page rows made of its own source rows only, as they
    come; the few page rows whose filter reaches across the cut are made last. Without one
    (the second thread decoding it all) this thread shrinks the rows as they arrive."""

    def __init__(self, data, factor, w, h, target, where):
        from ..codec import _bilevel

        self.data, self.factor, self.w, self.h = data, factor, w, h
        self.target, self.where = target, where
        self.pixels = bytearray(w * h)
        self.page = blank_rows(target)
        ends, self.taps = _bilevel.shrink_needs(h, where.height)
        self.ends = memoryview(ends).cast("i")  # page row i reads source rows [end - taps, end)
        self.arrived = 0        # source rows decoded by the second thread (absolute, from the cut)
        self.done = False       # the second thread has finished (or failed)
        self.error: BaseException | None = None
        self.stop = False       # this thread failed: the second one gives up
        self.cond = threading.Condition()
        self._shrink = _bilevel.shrink

    def start(self, decoder) -> int:
        """Decoding begins at the factor; the rows of one iMCU row (a cut on a multiple of it
        costs the second decoder no inverse DCT)."""
        w, h, imcu = decoder.start(*self.factor)
        if (w, h) != (self.w, self.h):
            raise _jpeg.Error(f"decoded at {w}×{h}, not {self.w}×{self.h}")
        return imcu

    def shrink(self, y0: int, y1: int) -> None:
        """Page rows [y0, y1) of the content."""
        if y1 > y0:
            where = self.where
            self._shrink(self.pixels, self.w, self.h, self.w, self.page,
                         where.y * self.target.width + where.x, self.target.width, where.width,
                         where.height, y0, y1)

    def read(self, decoder, y0: int, y1: int, made: int | None, report: bool) -> int:
        """Source rows [y0, y1) decoded; after each band, unless ``made`` is None, the page rows
        from ``made`` on whose source rows are all in, once there are ``SHRINK`` of them or at
        the end (each call works out the filter's taps anew). The page rows made by then."""
        y = y0
        while y < y1:
            n = min(BAND, y1 - y)
            decoder.read(self.pixels, y * self.w, self.w, n)
            y += n
            if made is not None:
                ready = bisect_right(self.ends, y)
                if ready - made >= SHRINK or (y == y1 and ready > made):
                    self.shrink(made, ready)
                    made = ready
            if report:
                with self.cond:
                    self.arrived = y
                    self.cond.notify()
                if self.stop:
                    break
        return made if made is not None else 0

    def lower(self, decoder, cut: int, shrinks: bool) -> None:
        """The second thread: rows from ``cut`` on (its own decoder, skipping to the cut), and
        when ``shrinks`` the page rows made of them alone."""
        try:
            if decoder is None:
                decoder = _jpeg.Decoder(self.data)
            self.start(decoder)
            decoder.skip(cut)
            with self.cond:
                self.arrived = cut
            first = bisect_right(self.ends, cut - 1 + self.taps)  # reads no row above the cut
            self.read(decoder, cut, self.h, first if shrinks else None, report=True)
        except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
            self.error = exc
        finally:
            with self.cond:
                self.done = True
                self.cond.notify()

    def run(self, top, multiscan: bool, split: float | None) -> Grey:
        h = self.h
        if split is None:
            split = default_split(self.w * h)
        if multiscan and 0 < split < 1:
            split = 0.0  # read whole before its first row: the second thread decodes it all
        if split >= 1.0:
            self.start(top)
            self.read(top, 0, h, 0, report=False)
            return self.grey()
        cut = 0
        if split > 0:
            imcu = self.start(top)
            cut = min(h - 1, max(imcu, round(h * split / imcu) * imcu))
        helper = threading.Thread(target=self.lower, args=(None if cut else top, cut, cut > 0),
                                  name="faxpipe-jpeg", daemon=True)
        helper.start()
        try:
            if cut:
                made = self.read(top, 0, cut, 0, report=False)
                with self.cond:
                    while not self.done:
                        self.cond.wait()
                # the page rows whose filter reaches across the cut
                self.shrink(made, bisect_right(self.ends, cut - 1 + self.taps))
            else:
                self.follow()
            if self.error is not None:
                raise self.error
        except BaseException:
            self.stop = True
            raise
        finally:
            helper.join()
        return self.grey()

    def follow(self) -> None:
        """Shrink the rows the second thread decodes as they arrive, to the last."""
        made = seen = 0
        while seen < self.h:
            with self.cond:
                while not self.done and self.arrived <= seen:
                    self.cond.wait()
                arrived, done, error = self.arrived, self.done, self.error
            if error is not None:
                raise error
            if arrived <= seen and done:
                raise _jpeg.Error(f"the second decoder stopped at row {seen} of {self.h}")
            ready = bisect_right(self.ends, arrived)
            if ready - made >= SHRINK or arrived == self.h:
                self.shrink(made, ready)
                made = ready
            seen = arrived

    def grey(self) -> Grey:
        return Grey(self.page, self.target.width, self.target.rows)
