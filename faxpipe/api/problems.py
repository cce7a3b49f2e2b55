"""The UAPI errors of the HTTP layer: a code, a message and the HTTP status the contract gives.

Body: ``{"error": {"code": "...", "message": "..."}}`` (api-contract.md). Every
:class:`faxpipe.errors.FaxpipeError` raised below the HTTP layer keeps its own code (a
:class:`DocumentError` is ``fx_file_invalid``); :func:`status_of` says which HTTP status it gets.
"""

from __future__ import annotations

from ..errors import FaxpipeError

# code -> HTTP status (api-contract.md table). access_denied is 401 without a valid token and
# 403 for a token that may not act for that user or extension: the error says which.
STATUS = {
    "fx_recipients_invalid": 400, "fx_file_invalid": 400, "fx_max_files_reached": 400,
    "user_invalid": 400, "extension_invalid": 400, "access_denied": 401,
    "internal_server_error": 500, "request_not_implemented": 501, "not_found": 404,
    "method_not_allowed": 405,
}


class ApiError(FaxpipeError):
    """An error answered to the client as it is."""

    def __init__(self, code: str, reason: str, status: int | None = None, headers: tuple = ()):
        super().__init__(reason, code=code)
        self.status = status if status is not None else STATUS.get(code, 400)
        self.headers = headers   # extra response headers, (name, value) byte pairs

    def __reduce__(self):        # raised in a conversion process, answered by the server
        return type(self), (self.code, self.reason, self.status, self.headers)


def status_of(exc: FaxpipeError) -> int:
    return getattr(exc, "status", None) or STATUS.get(exc.code, 400)


def body_of(exc: FaxpipeError) -> dict:
    return {"error": {"code": exc.code, "message": exc.reason}}


def recipients_invalid(reason: str) -> ApiError:
    return ApiError("fx_recipients_invalid", reason)


def file_invalid(reason: str) -> ApiError:
    return ApiError("fx_file_invalid", reason)


def max_files(reason: str) -> ApiError:
    return ApiError("fx_max_files_reached", reason)


def denied(reason: str, status: int = 403) -> ApiError:
    return ApiError("access_denied", reason, status)


def not_queued(reason: str) -> ApiError:
    """The fax could not be queued for an internal reason (400, as Create Faxes lists it)."""
    return ApiError("internal_server_error", reason, 400)
