"""faxpipe.api: the UAPI fax endpoints as an ASGI application (issue 7).

* :mod:`.app` — routing and the ASGI callable (:class:`FaxApi`, :func:`create_app`).
* :mod:`.multipart` — the streamed ``multipart/form-data`` body within limits.
* :mod:`.fields` — the ``request`` part (recipients and optional fields).
* :mod:`.auth` — tokens and the authorization matrix.
* :mod:`.service` — convert once, store TIFF-F, queue per recipient; read, list, cancel.
* :mod:`.resource` — the Fax resource as JSON. :mod:`.openapi` — the OpenAPI document.
* :mod:`.problems` — UAPI error codes and their HTTP statuses. :mod:`.http` — ASGI plumbing.
"""

from .app import FaxApi, create_app

__all__ = ["FaxApi", "create_app"]
