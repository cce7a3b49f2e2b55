"""What the endpoints do, apart from HTTP: convert once, store as TIFF-F, queue per recipient.

Conversion runs in a pool of its own, database calls in the default executor: the event loop
never waits on either. The pool is made of threads (pdfium, the codec and Pillow release the GIL
for the heavy work), or, with ``processes`` (what ``faxpipe serve`` uses), of worker processes:
PDFium allows one call at a time in a process and the GIL serialises the Python around it, so
threads keep only 1.2-1.4 of two cores busy converting one-page PDFs; processes use them all.
A worker process that dies (a document that crashes a renderer) breaks its pool: the pool is
replaced and each request that was in it is tried once more.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import multiprocessing
import os
import select
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .. import tiff
from ..cores import usable_cores
from ..errors import FaxpipeError
from ..jobs.config import Config
from ..jobs.store import NewFax, Store
from ..normalize import Header, Limits, convert
from . import fields, resource
from .auth import Context
from .problems import ApiError, not_queued

log = logging.getLogger("faxpipe.api")

@dataclass(frozen=True)
class Created:
    """The answer to a POST: ``body`` None means 204 (nothing to send)."""

    body: dict | None


def convert_to_tiff(files: list[tuple[str, bytes]], request: fields.FaxRequest, sender: str,
                    path: str, max_bytes: int) -> int:
    """Convert every file into one document and write it as TIFF-F (G4) at ``path``; returns
    the page count (0: nothing written). Runs in a worker thread or process."""
    header = Header(text=request.header_text or "", sender=sender)
    document = convert(files, request.resolution, header=header, limits=Limits(max_bytes=max_bytes))
    if len(document) == 0:
        return 0
    try:
        tiff.write(path, document.pages, "g4")
    except OSError as exc:
        raise not_queued(f"the converted fax could not be stored ({exc.strerror or exc})") from None
    return len(document)


def _warm(server: int) -> None:
    """A conversion process's start: the renderers and codecs loaded before its first request,
    and a watch on the server process: a server killed before it could stop its pool leaves no
    conversion process behind."""
    from .. import normalize, tiff  # noqa: F401 - imported for their start-up cost

    threading.Thread(target=_outlive_not, args=(server,), name="faxpipe-watch", daemon=True).start()


def _outlive_not(server: int) -> None:
    """Return only to end this process, when process ``server`` has ended."""
    try:
        handle = os.pidfd_open(server)
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):
        handle = None
    if handle is not None:
        select.select([handle], [], [])         # readable once the process has ended
    else:
        while True:
            time.sleep(1.0)
            try:
                os.kill(server, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                continue
    os._exit(0)


def _ready() -> None:
    """A task that only makes the pool start a worker process."""


STALE_SECONDS = 3600   # a document is written in milliseconds: older temporaries are orphans


def remove_stale_temporaries(documents: Path, now: float | None = None) -> int:
    """Remove the temporary files (``<uid>.tif.tmp<pid>``, see tiff.write) that a conversion
    process killed between writing and renaming left behind; returns how many. Only old ones:
    another server may be writing into the same directory right now."""
    now = time.time() if now is None else now
    removed = 0
    for path in documents.glob("*.tif.tmp*"):
        try:
            if now - path.stat().st_mtime > STALE_SECONDS:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    if removed:
        log.info("removed %d stale temporary document file(s) from %s", removed, documents)
    return removed


class FaxService:
    """``processes``: convert in that many worker processes instead of threads (0)."""

    def __init__(self, store: Store, data_dir: str | os.PathLike, config: Config,
                 converter: concurrent.futures.Executor | None = None, processes: int = 0):
        self.store, self.config = store, config
        self.documents = Path(data_dir) / "faxes"
        self.documents.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.documents)
        self._own_converter = converter is None
        self._converter = converter
        self.processes = processes

    @property
    def converter(self) -> concurrent.futures.Executor:
        """The conversion pool; our own is made on first use (again after :meth:`close`: an ASGI
        server may run the application's lifespan more than once)."""
        if self._converter is None:
            if self.processes > 0:
                # forkserver: the server has threads, which fork must not copy; the server
                # process loads this module once, and each worker starts as a copy of it
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([__name__])
                self._converter = concurrent.futures.ProcessPoolExecutor(
                    self.processes, mp_context=context, initializer=_warm, initargs=(os.getpid(),))
            else:
                self._converter = concurrent.futures.ThreadPoolExecutor(
                    max_workers=usable_cores(), thread_name_prefix="convert")
        return self._converter

    def start(self) -> None:
        """Start the conversion processes now rather than on the first requests."""
        if self.processes > 0 and self._own_converter:
            pool = self.converter
            for _ in range(self.processes):
                pool.submit(_ready)

    def close(self) -> None:
        """Stop the pool; worker processes are waited for (uvicorn ends the process on SIGTERM
        right after the application's shutdown, before anything else could stop them)."""
        if self._converter is not None:
            self._converter.shutdown(wait=isinstance(self._converter, concurrent.futures.ProcessPoolExecutor),
                                     cancel_futures=True)
            if self._own_converter:
                self._converter = None

    async def _convert(self, *args) -> int:
        """convert_to_tiff(*args) in the pool; a pool broken by a worker that died is replaced
        and the conversion tried once more."""
        loop = asyncio.get_running_loop()
        for _ in range(2):
            pool = self.converter
            try:
                return await loop.run_in_executor(pool, convert_to_tiff, *args)
            except concurrent.futures.BrokenExecutor:
                log.error("a conversion worker stopped; the conversion pool is started again")
                if self._own_converter and self._converter is pool:
                    self._converter = None
                    pool.shutdown(wait=False, cancel_futures=True)
        raise not_queued("the document could not be converted: the conversion process stopped")

    async def db(self, fn, *args):
        return await asyncio.to_thread(fn, *args)

    async def create(self, ctx: Context, files: list[tuple[str, bytes]], raw_request: bytes | None,
                     idempotency_key: str | None) -> Created:
        request = fields.parse(raw_request, self.config.limits.max_recipients, self.config.retry)
        if idempotency_key:
            idempotency_key = hashlib.sha256(idempotency_key.encode("utf-8", "surrogateescape")).hexdigest()
            earlier = await self.db(self.store.idempotent, ctx.caller.id, idempotency_key)
            if earlier is not None:
                return Created({"id": str(earlier[0]), "uid": earlier[1]})
        if not any(data for _, data in files):
            return Created(None)
        uid = uuid.uuid4().hex
        path = self.documents / f"{uid}.tif"
        pages = await self._convert(files, request, request.csid or ctx.extension.number, str(path),
                                    self.config.limits.max_file_bytes)
        if pages == 0:
            return Created(None)
        fax = NewFax(user_id=ctx.user.id, extension_id=ctx.extension.id, uid=uid, pages=pages,
                     resolution=request.resolution, document=str(path), recipients=request.recipients,
                     retry=request.retry, header_text=request.header_text, csid=request.csid,
                     idempotency_key=idempotency_key or None)
        try:
            fax_id, uid, replayed = await self.db(self.store.submit, fax)
        except FaxpipeError:
            path.unlink(missing_ok=True)
            raise
        except Exception as exc:
            path.unlink(missing_ok=True)
            log.exception("queueing fax %s failed", uid)
            raise not_queued(f"the fax could not be queued ({type(exc).__name__})") from None
        if replayed:
            path.unlink(missing_ok=True)
        return Created({"id": str(fax_id), "uid": uid})

    async def get(self, ctx: Context, fax_id: str) -> dict:
        row = await self._fax(ctx, fax_id)
        return resource.fax(row, ctx.extension.number)

    async def _fax(self, ctx: Context, fax_id: str) -> dict:
        row = None
        if fax_id.isascii() and fax_id.isdigit() and len(fax_id) < 19:
            row = await self.db(self.store.fax, int(fax_id))
        if row is None or int(row["extension_id"]) != ctx.extension.id:
            raise ApiError("not_found", f"extension {ctx.extension.number} has no fax {fax_id[:40]!r}")
        return row

    async def cancel(self, ctx: Context, fax_id: str) -> dict:
        row = await self._fax(ctx, fax_id)
        await self.db(self.store.cancel, int(row["id"]))
        return await self.get(ctx, fax_id)

    async def list(self, ctx: Context, start: int, count: int) -> tuple[int, list[dict]]:
        total, rows = await self.db(self.store.faxes, ctx.extension.id, start, count)
        return total, [resource.fax(r, ctx.extension.number) for r in rows]
