"""``convert`` and ``validate``: sources in, fax pages out (issue 3 "Conversion").

Every source is first sniffed and opened (cheap: structure only), so that the page total is
known for the header's ``page n/N``; then pages are produced one at a time, each rendered to
grey at its final geometry (one page ahead, in a worker thread, when a source has more than
one: :mod:`prefetch`), given its header line and made bilevel by :func:`faxpipe.bilevel.to_page`
(crisp threshold for text and line art, halftone for photos).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Iterable, Iterator

from PIL import Image

from ..bilevel import to_page
from ..errors import DocumentError
from ..page import Page, PaperSize, Resolution
from . import ghostscript, header as _header, image, pdf, sniff, text, tiff
from .prefetch import ahead
from .document import Document, SourceInfo
from .geometry import Grey, Target
from .limits import DEFAULT, Limits
from .source import Source, load

RENDERERS = ("pdfium", "ghostscript")
HALFTONES = ("auto", "threshold", "diffusion", "ordered")


def _sources(sources) -> list:
    if isinstance(sources, (str, bytes, bytearray, memoryview, tuple, Source)) or hasattr(sources, "__fspath__"):
        return [sources]
    return list(sources)


class Conversion:
    """Sources opened for conversion. ``sources`` describes them; iterating yields the pages,
    one at a time. Use :func:`convert` unless the pages should be streamed."""

    def __init__(self, sources, resolution="fine", paper="a4", *, renderer: str = "pdfium",
                 header: "str | _header.Header | None" = None, halftone: str = "auto",
                 limits: Limits = DEFAULT):
        if renderer not in RENDERERS:
            raise ValueError(f"unknown renderer {renderer!r}: use {' or '.join(RENDERERS)}")
        if halftone not in HALFTONES:
            raise ValueError(f"unknown halftone {halftone!r}: use {', '.join(HALFTONES)}")
        self.resolution = Resolution.parse(resolution)
        self.paper = PaperSize.parse(paper)
        self.header = _header.Header(text=header) if isinstance(header, str) else header
        self.halftone = halftone
        self.limits = limits
        self.renderer = renderer
        rows = _header.band_rows(Target(self.paper, self.resolution)) if self.header else 0
        self.target = Target(self.paper, self.resolution, rows)
        self.when = _dt.datetime.now()
        self._opened: list[tuple[SourceInfo, object]] = []
        try:
            first = 0
            for index, raw in enumerate(_sources(sources)):
                info, opener = _open(load(raw, index, limits), self, first)
                self._opened.append((info, opener))
                first += info.pages
                if first > limits.max_pages:
                    raise DocumentError(f"{info.name}: the document would have {first} pages, more "
                                        f"than the {limits.max_pages} allowed")
        except BaseException:
            self.close()
            raise
        self.total = first
        self.sources = [info for info, _ in self._opened]

    def __iter__(self) -> Iterator[Page]:
        number = 0
        try:
            for i, (info, opener) in enumerate(self._opened):
                as_is = 0
                for item in ahead(opener, count=info.pages):
                    number += 1
                    if isinstance(item, Page):
                        as_is += 1
                        yield item
                        continue
                    yield self._finish(item, number, info.name)
                self.sources[i] = dataclasses.replace(info, as_is=as_is)
        finally:
            self.close()

    def _finish(self, grey: "Image.Image | Grey", number: int, name: str) -> Page:
        if self.header is not None:
            line = self.header.line(number, self.total, self.when)
            _header.draw(grey, self.target, line, name)
        if isinstance(grey, Grey):
            return to_page(grey.pixels, self.target.xdpi, self.target.ydpi, self.halftone,
                           size=(grey.width, grey.height))
        return to_page(grey, self.target.xdpi, self.target.ydpi, self.halftone)

    def close(self) -> None:
        for _, opener in self._opened:
            closer = getattr(opener, "close", None)
            if closer is not None:
                closer()


class _Opener:
    """A source's pages, made on demand; ``close`` releases what opening it took."""

    def __init__(self, make, close=None):
        self._make, self._close = make, close

    def __call__(self):
        return self._make()

    def close(self):
        if self._close is not None:
            self._close()
            self._close = None


def _open(src: Source, conv: Conversion, first: int) -> tuple[SourceInfo, _Opener]:
    name, data, target, limits = src.name, src.data, conv.target, conv.limits
    if not data:
        return SourceInfo(name, "empty", 0, first), _Opener(lambda: iter(()))
    kind = sniff.sniff(data, name)
    if kind == sniff.PDF:
        doc, st = pdf.open_document(data, name, limits)
        info = SourceInfo(name, kind, st.pages, first, encrypted=st.encrypted, repaired=st.repaired)
        if conv.renderer == "ghostscript":
            pdf.close(doc)
            return info, _Opener(lambda: ghostscript.pages(st.data, st.pages, target, name, limits))
        state = {"open": True}

        def make():
            state["open"] = False
            return pdf.pages(doc, target, name, limits)

        return info, _Opener(make, lambda: state["open"] and pdf.close(doc))
    if kind == sniff.JPEG:
        image.open_image(data, name, limits, "JPEG image")
        return SourceInfo(name, kind, 1, first), _Opener(lambda: image.jpeg_pages(data, name, target, limits))
    if kind == sniff.TIFF:
        opened = tiff.open_tiff(data, name, limits)
        return (SourceInfo(name, kind, opened.count, first),
                _Opener(lambda: tiff.pages(opened, name, target, limits)))
    lay = text.layout(data, name, limits.max_pages)
    if len(lay.pages) > limits.max_pages:
        raise DocumentError(f"{name}: {len(lay.pages)} pages, more than the {limits.max_pages} allowed")
    return (SourceInfo(name, kind, len(lay.pages), first, encoding=lay.encoding),
            _Opener(lambda: text.pages(lay, target)))


def convert(sources, resolution="fine", paper="a4", *, renderer: str = "pdfium",
            header: "str | _header.Header | None" = None, halftone: str = "auto",
            limits: Limits = DEFAULT) -> Document:
    """Every source (a path, bytes, or (name, bytes)) as fax pages, in order.

    resolution: standard | fine | superfine; paper: a4 | letter | legal | b4 | a3;
    renderer: pdfium (in-process) or ghostscript; header: a text or a :class:`Header` printed in
    a band at the top of every page; halftone: auto (per page) | threshold | diffusion | ordered.
    Raises DocumentError (fx_file_invalid) naming the file and the reason.
    """
    conversion = Conversion(sources, resolution, paper, renderer=renderer, header=header,
                            halftone=halftone, limits=limits)
    document = Document(paper=conversion.paper, resolution=conversion.resolution)
    for page in conversion:
        document.pages.append(page)
    document.sources = conversion.sources
    return document


def validate(sources: "Iterable | object", *, limits: Limits = DEFAULT) -> list[SourceInfo]:
    """The cheap checks only: sniffing, size limits, PDFs open without a password, page counts,
    image headers within the pixel limit, text decodes and every character has a font."""
    infos, first = [], 0
    for index, raw in enumerate(_sources(sources)):
        src = load(raw, index, limits)
        name, data = src.name, src.data
        if not data:
            infos.append(SourceInfo(name, "empty", 0, first))
            continue
        kind = sniff.sniff(data, name)
        if kind == sniff.PDF:
            st = pdf.inspect(data, name, limits)
            info = SourceInfo(name, kind, st.pages, first, encrypted=st.encrypted, repaired=st.repaired)
        elif kind == sniff.JPEG:
            image.open_image(data, name, limits, "JPEG image")
            info = SourceInfo(name, kind, 1, first)
        elif kind == sniff.TIFF:
            info = SourceInfo(name, kind, tiff.open_tiff(data, name, limits).count, first)
        else:
            lay = text.layout(data, name, limits.max_pages)
            info = SourceInfo(name, kind, len(lay.pages), first, encoding=lay.encoding)
        first += info.pages
        if first > limits.max_pages:
            raise DocumentError(f"{name}: the document would have {first} pages, more than the "
                                f"{limits.max_pages} allowed")
        infos.append(info)
    return infos
