"""The ASGI application of the UAPI fax endpoints (served by uvicorn: ``faxpipe serve``).

Routes::

    POST   /uapi/faxes/{userId}/{extension}            Create Faxes (multipart: files, request)
    GET    /uapi/faxes/{userId}/{extension}            list, ?startIndex=0&count=20
    GET    /uapi/faxes/{userId}/{extension}/{faxId}    one fax
    DELETE /uapi/faxes/{userId}/{extension}/{faxId}    cancel what has not been sent
    GET    /uapi/openapi.json                          the OpenAPI document

Another method on those two paths is ``405 method_not_allowed`` with an ``Allow`` header (RFC 9110
§15.5.6: the resource exists, the verb does not apply to it); any other path under ``/uapi/``
(a UAPI method faxpipe does not implement) is ``501 request_not_implemented``. Every error is
``{"error": {"code", "message"}}``; an unexpected exception is logged and answered 500
``internal_server_error`` without details.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import parse_qs, urlencode

from ..errors import FaxpipeError
from ..jobs.config import Config
from ..jobs.store import Store
from . import auth, openapi
from .http import Request, send_empty, send_json
from .multipart import FormReader
from .problems import ApiError, body_of, file_invalid, status_of
from .service import FaxService

log = logging.getLogger("faxpipe.api")

FAXES = re.compile(r"/uapi/faxes/([^/]+)/([^/]+)(?:/([^/]+))?/?")
MAX_COUNT = 100
MULTIPART_OVERHEAD = 64 << 10    # headers and boundaries around the parts


class FaxApi:
    """``FaxApi(store, data_dir, config)`` is an ASGI application; ``processes``: convert in
    that many worker processes (see :mod:`.service`) instead of threads."""

    def __init__(self, store: Store, data_dir: str | os.PathLike, config: Config | None = None,
                 converter=None, processes: int = 0):
        self.store = store
        self.config = config or Config()
        self.service = FaxService(store, data_dir, self.config, converter, processes)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http":
            return
        request = Request.from_scope(scope, receive)
        try:
            await self._route(request, send)
        except FaxpipeError as exc:
            await send_json(send, status_of(exc), body_of(exc), getattr(exc, "headers", ()))
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            await send_json(send, 500, {"error": {"code": "internal_server_error",
                                                  "message": "an unexpected error occurred"}})

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.service.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.service.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _route(self, request: Request, send) -> None:
        path, method = request.path, request.method
        if path in ("/uapi/openapi.json", "/openapi.json") and method in ("GET", "HEAD"):
            return await send_json(send, 200, openapi.document(self.config.limits))
        match = FAXES.fullmatch(path)
        if match is not None:
            allowed = ("GET", "POST") if match[3] is None else ("GET", "DELETE")
            if method not in allowed:
                raise ApiError("method_not_allowed", f"{method[:20]} is not allowed on {path[:100]} "
                               f"(allowed: {', '.join(allowed)})", 405,
                               ((b"allow", ", ".join(allowed).encode()),))
        if match is None:
            if path.startswith("/uapi/"):
                raise ApiError("request_not_implemented", f"{method} {path[:100]} is not implemented", 501)
            raise ApiError("not_found", f"no resource at {path[:100]}", 404)
        user_ref, number, fax_id = match[1], match[2], match[3]
        token = auth.token_of(request.headers, request.query)
        caller = await self.service.db(auth.authenticate, self.store.accounts, token)
        ctx = await self.service.db(auth.authorize, self.store.accounts, caller, user_ref, number)
        if method == "POST":
            return await self._create(request, send, ctx)
        if fax_id is None:
            return await self._list(request, send, ctx)
        if method == "DELETE":
            return await send_json(send, 200, await self.service.cancel(ctx, fax_id))
        return await send_json(send, 200, await self.service.get(ctx, fax_id))

    async def _create(self, request: Request, send, ctx) -> None:
        limits = self.config.limits
        ceiling = limits.max_total_bytes + limits.max_request_bytes + MULTIPART_OVERHEAD
        length = request.header("content-length")
        if length is not None and length.isdigit() and int(length) > ceiling:
            raise file_invalid(f"the request body is {int(length)} bytes, more than the "
                               f"{ceiling} accepted")
        reader = FormReader(request.header("content-type"), limits)
        received = 0
        async for chunk in request.chunks():
            received += len(chunk)
            if reader.failed is None:
                try:
                    reader.feed(chunk)
                except ApiError:
                    pass            # keep reading (and dropping) so the client hears the answer
            if received > 2 * ceiling:
                break               # a client that does not stop: answer now, uvicorn will close
        form = reader.finish()
        created = await self.service.create(ctx, form.files, form.request,
                                            request.header("idempotency-key"))
        if created.body is None:
            return await send_empty(send, 204)
        await send_json(send, 200, created.body)

    async def _list(self, request: Request, send, ctx) -> None:
        query = parse_qs(request.query.decode("latin-1"))
        start = _int(query, "startIndex", 0, 0, 1 << 31)
        count = _int(query, "count", 20, 1, MAX_COUNT)
        total, entries = await self.service.list(ctx, start, count)
        base = request.path
        paging = {}
        if start + count < total:
            paging["next"] = f"{base}?{urlencode({'startIndex': start + count, 'count': count})}"
        if start > 0:
            paging["previous"] = f"{base}?{urlencode({'startIndex': max(0, start - count), 'count': count})}"
        body = {"paging": paging, "entry": entries, "startIndex": start, "itemsPerPage": count,
                "totalResults": total}
        await send_json(send, 200, body)


def _int(query: dict, name: str, default: int, low: int, high: int) -> int:
    values = query.get(name)
    if not values:
        return default
    value = values[0]
    if not value.isdigit() or not low <= int(value) <= high:
        raise ApiError("request_invalid", f"{name} must be a whole number from {low} to {high}", 400)
    return int(value)


def create_app(data_dir: str | os.PathLike = "faxpipe-data", db: str | None = None,
               config: Config | None = None) -> FaxApi:
    """The application over the store in ``data_dir`` (SQLite) or at ``db`` (PostgreSQL URL)."""
    return FaxApi(Store.open(data_dir, db), data_dir, config)

