"""PDF: pages, encryption and pixels through PDFium; pypdf's structure pass and repair only for
files PDFium cannot open.

Pages are rendered one at a time straight into an 8-bit grey bitmap of the whole fax page: the
page is mapped onto the rectangle :func:`geometry.place` gives, which scales x and y separately
(204 dpi across, 98 / 196 / 391 down). PDFium honours /Rotate and renders the CropBox. Rendering
is progressive (``FPDF_RenderPageBitmap_Start`` with an ``IFSDK_PAUSE`` whose
``NeedToPauseNow`` reports the page's deadline), so one pathological page cannot hang the job.
PDFium is not thread-safe: every call into it holds one lock.
"""

from __future__ import annotations

import ctypes
import io
import logging
import threading
from dataclasses import dataclass
from typing import Iterator

import pypdfium2 as pdfium
import pypdfium2.raw as fpdf

from ..errors import DocumentError, FaxpipeError
from . import pdfrepair
from .geometry import Grey, Target, place
from .limits import Deadline, Limits, timeout

LOCK = threading.RLock()
POINTS_PER_INCH = 72.0
_FLAGS = fpdf.FPDF_ANNOT | fpdf.FPDF_GRAYSCALE | fpdf.FPDF_RENDER_LIMITEDIMAGECACHE
_QUARTER_ANTICLOCKWISE = 3  # PDFium's rotate argument counts quarter turns clockwise


@dataclass
class Structure:
    """What a PDF is made of: pages, whether it was encrypted (with an empty user password),
    whether it had to be rewritten to be read, and the bytes to render."""

    pages: int
    encrypted: bool
    repaired: bool
    data: bytes


def _pypdf_reader(data: bytes, name: str):
    """pypdf's view: (reader, None) or (None, reason). Refuses PDFs that need a password."""
    import pypdf
    from pypdf.errors import DependencyError, PdfReadError

    quiet = logging.getLogger("pypdf")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # pypdf warns about every repair it makes
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name}: password protected")
        len(reader.pages)
        return reader, None
    except DocumentError:
        raise
    except DependencyError as exc:  # an installation fault, not the user's file
        raise FaxpipeError(f"{name}: cannot decrypt on this server ({exc})") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            AssertionError, RecursionError, OSError, NotImplementedError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:200]
    finally:
        quiet.setLevel(level)


def _pdfium_open(data: bytes, name: str):
    """PDFium's document, or None when it cannot read the file at all."""
    try:
        with LOCK:
            return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == fpdf.FPDF_ERR_PASSWORD:
            raise DocumentError(f"{name}: password protected") from None
        if getattr(exc, "err_code", None) == fpdf.FPDF_ERR_SECURITY:
            raise DocumentError(f"{name}: encrypted with an unsupported security handler") from None
        return None


def _rewrite(reader) -> bytes | None:
    """The document as pypdf reads it, written out again with a fresh cross-reference table."""
    import pypdf

    try:
        writer = pypdf.PdfWriter(clone_from=reader)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()
    except Exception:  # noqa: BLE001 - pypdf fails in many ways on broken input; all mean "no"
        return None


def _complete(reader) -> bool:
    """Whether every page of a rebuilt file has its content: a truncated file must not turn
    into blank pages that look sent."""
    try:
        for page in reader.pages:
            contents = page.get_contents()
            if contents is None or not contents.get_data():
                return False
        return True
    except Exception:  # noqa: BLE001 - any failure to read a page means the page is lost
        return False


def open_document(data: bytes, name: str, limits: Limits):
    """(PDFium document, Structure). PDFium opens the file first (it refuses one that needs a
    password itself); a damaged file it cannot read is rewritten by pypdf, or given a rebuilt
    cross-reference table (:mod:`pdfrepair`), and tried again; what none of them can read is
    refused, naming the file and the reason."""
    doc, repaired, reader, why = _pdfium_open(data, name), False, None, None
    if doc is None:     # pypdf's structure pass only when PDFium alone cannot read the file
        reader, why = _pypdf_reader(data, name)
    if doc is None and reader is not None:
        fixed = _rewrite(reader)
        if fixed is not None:
            doc, repaired, data = _pdfium_open(fixed, name), True, fixed
    if doc is None:
        fixed = pdfrepair.rebuild(data)
        rebuilt = _pypdf_reader(fixed, name)[0] if fixed is not None else None
        if rebuilt is not None and _complete(rebuilt):
            doc, repaired, data, reader = _pdfium_open(fixed, name), True, fixed, rebuilt
    if doc is None:
        raise DocumentError(f"{name}: a damaged PDF that cannot be repaired ({why or 'PDFium cannot read it'})")
    with LOCK:
        count = len(doc)
    if count > limits.max_pages:
        close(doc)
        raise DocumentError(f"{name}: {count} pages, more than the {limits.max_pages} allowed")
    # a file that pypdf decrypted and wrote out again is no longer encrypted: pypdf says it was
    encrypted = _encrypted(doc) or bool(reader is not None and reader.is_encrypted)
    return doc, Structure(count, encrypted, repaired, data)


def _encrypted(doc) -> bool:
    """Whether PDFium had to decrypt the document (it opened, so with the empty user password)."""
    with LOCK:
        return fpdf.FPDF_GetSecurityHandlerRevision(doc) != -1


def inspect(data: bytes, name: str, limits: Limits) -> Structure:
    """The cheap checks: it opens, needs no password, has an acceptable number of pages."""
    doc, structure = open_document(data, name, limits)
    close(doc)
    return structure


def close(doc) -> None:
    with LOCK:
        doc.close()


def pages(doc, target: Target, name: str, limits: Limits) -> Iterator[Grey]:
    """Grey fax pages, rendered one at a time; the document is closed at the end."""
    try:
        with LOCK:
            count = len(doc)
        for index in range(count):
            yield render(doc, index, target, name, limits.page_seconds)
    finally:
        close(doc)


def render(doc, index: int, target: Target, name: str, seconds: float) -> Grey:
    """Page ``index`` fitted onto a white grey fax page (header band left white)."""
    deadline = Deadline(seconds)
    with LOCK:
        try:
            page = doc[index]
        except pdfium.PdfiumError:
            raise DocumentError(f"{name}: page {index + 1} cannot be read") from None
        bitmap = None
        try:
            width_pt, height_pt = page.get_size()
            if not (width_pt > 0 and height_pt > 0):
                raise DocumentError(f"{name}: page {index + 1} has an empty size")
            where = place(target, width_pt / POINTS_PER_INCH, height_pt / POINTS_PER_INCH)
            pixels = bytearray(b"\xff") * (target.width * target.rows)   # white, owned by Python
            bitmap = pdfium.PdfBitmap.new_native(target.width, target.rows, fpdf.FPDFBitmap_Gray,
                                                 buffer=(ctypes.c_ubyte * len(pixels)).from_buffer(pixels))
            status = _progressive(bitmap, page, where, deadline)
            if status == fpdf.FPDF_RENDER_TOBECONTINUED:
                raise timeout(name, index + 1, seconds)
            if status == fpdf.FPDF_RENDER_FAILED:
                raise DocumentError(f"{name}: page {index + 1} cannot be rendered")
            bitmap.close()
            bitmap = None
            return Grey(pixels, target.width, target.rows)
        finally:
            if bitmap is not None:
                bitmap.close()
            page.close()


def _progressive(bitmap, page, where, deadline: Deadline) -> int:
    pause = fpdf.IFSDK_PAUSE(version=1)
    pause.NeedToPauseNow = type(pause.NeedToPauseNow)(lambda _: deadline.expired())
    rotate = _QUARTER_ANTICLOCKWISE if where.rotate else 0
    status = fpdf.FPDF_RenderPageBitmap_Start(bitmap, page, where.x, where.y, where.width,
                                              where.height, rotate, _FLAGS, pause)
    while status == fpdf.FPDF_RENDER_TOBECONTINUED and not deadline.expired():
        status = fpdf.FPDF_RenderPage_Continue(page, pause)
    fpdf.FPDF_RenderPage_Close(page)
    return status
