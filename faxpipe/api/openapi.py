"""The OpenAPI 3.1 document of the fax endpoints, served at ``/uapi/openapi.json``."""

from __future__ import annotations

from .. import __version__
from ..jobs.config import ApiLimits
from .fields import CSID_RE, HEADER_PATTERN, MAX_ATTEMPTS, MAX_HEADER, MAX_RETRY_DELAY, NUMBER_PATTERN, RESOLUTIONS

_REF = "#/components/schemas/"


def _error(description: str, codes: list[str]) -> dict:
    return {"description": f"{description} ({', '.join(codes)})",
            "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}}}


_PATH_PARAMS = [
    {"name": "userId", "in": "path", "required": True,
     "description": "@me or @viewer (the authenticated user), @owner (the extension's owner) or a numeric user id",
     "schema": {"type": "string", "pattern": r"^(@me|@viewer|@owner|[0-9]+)$"}},
    {"name": "extension", "in": "path", "required": True,
     "description": "the extension sending the fax, e.g. 0003*210 (not @self)",
     "schema": {"type": "string", "pattern": r"^[0-9*]+$"}},
]
_FAX_ID = {"name": "faxId", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
_AUTH_ERRORS = {
    "400": _error("bad user or extension", ["user_invalid", "extension_invalid"]),
    "401": _error("no token, or an unknown or expired one", ["access_denied"]),
    "403": _error("the token's user may not act for this user or extension", ["access_denied"]),
    "500": _error("unexpected failure", ["internal_server_error"]),
}

_SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
    "FaxRequest": {"type": "object", "required": ["recipients"], "properties": {
        "recipients": {"type": "array", "minItems": 1, "uniqueItems": True,
                       "items": {"type": "string", "pattern": NUMBER_PATTERN, "maxLength": 40}},
        "resolution": {"type": "string", "enum": list(RESOLUTIONS), "default": "fine"},
        "headerText": {"type": "string", "maxLength": MAX_HEADER, "pattern": HEADER_PATTERN},
        "csid": {"type": "string", "pattern": f"^{CSID_RE.pattern}$"},
        "maxAttempts": {"type": "integer", "minimum": 1, "maximum": MAX_ATTEMPTS},
        "retryDelay": {"type": "integer", "minimum": 0, "maximum": MAX_RETRY_DELAY,
                       "description": "seconds between attempts"}}},
    "Created": {"type": "object", "required": ["id", "uid"], "properties": {
        "id": {"type": "string"}, "uid": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}},
    "DeliveryError": {"type": "object", "required": ["type", "code", "retryable"], "properties": {
        "type": {"type": "string", "enum": ["line", "fax", "document", "internal"]},
        "code": {"type": "string"}, "retryable": {"type": "boolean"}, "detail": {"type": "string"}}},
    "RecipientStatus": {"type": "object", "required": ["number", "status", "attempts", "pagesSent"],
                        "properties": {
        "number": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "dialing", "transmitting", "will_retry",
                                              "delivered", "failed", "canceled"]},
        "attempts": {"type": "integer"}, "pagesSent": {"type": "integer"},
        "remoteCsid": {"type": "string"}, "error": {"$ref": _REF + "DeliveryError"}}},
    "Fax": {"type": "object", "required": ["id", "uid", "recipients", "extension", "status", "pages"],
            "properties": {
        "id": {"type": "string"}, "uid": {"type": "string"},
        "recipients": {"type": "array", "items": {"type": "string"}},
        "extension": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "sending", "sent", "partially_sent", "failed", "canceled"]},
        "pages": {"type": "integer"}, "resolution": {"type": "string", "enum": list(RESOLUTIONS)},
        "headerText": {"type": "string"}, "csid": {"type": "string"},
        "maxAttempts": {"type": "integer"}, "retryDelay": {"type": "number"},
        "created": {"type": "string", "format": "date-time"},
        "updated": {"type": "string", "format": "date-time"},
        "recipientStatus": {"type": "array", "items": {"$ref": _REF + "RecipientStatus"}}}},
    "FaxList": {"type": "object", "required": ["entry"], "properties": {
        "entry": {"type": "array", "items": {"$ref": _REF + "Fax"}},
        "paging": {"type": "object", "properties": {"next": {"type": "string"}, "previous": {"type": "string"}}},
        "startIndex": {"type": "integer"}, "itemsPerPage": {"type": "integer"},
        "totalResults": {"type": "integer"}}},
}


def document(limits: ApiLimits | None = None) -> dict:
    """The document; ``limits`` (the server's configuration) sets the most files and recipients."""
    limits = limits or ApiLimits()
    schemas = {**_SCHEMAS, "FaxRequest": {**_SCHEMAS["FaxRequest"], "properties": {
        **_SCHEMAS["FaxRequest"]["properties"],
        "recipients": {**_SCHEMAS["FaxRequest"]["properties"]["recipients"], "maxItems": limits.max_recipients}}}}
    json_of = lambda name: {"application/json": {"schema": {"$ref": _REF + name}}}  # noqa: E731
    return {
        "openapi": "3.1.0",
        "info": {"title": "faxpipe UAPI faxes", "version": __version__,
                 "description": "VoipNow UAPI Create Faxes, with faxpipe's extensions (see api-contract.md)."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "query": {"type": "apiKey", "in": "query", "name": "accessRequestToken"}},
            "schemas": schemas},
        "security": [{"bearer": []}, {"query": []}],
        "paths": {
            "/uapi/faxes/{userId}/{extension}": {
                "parameters": _PATH_PARAMS,
                "post": {
                    "operationId": "createFax", "summary": "Create Faxes",
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                    "description": "the same key from the same user within 24 h returns the "
                                                   "original response and queues nothing new",
                                    "schema": {"type": "string"}}],
                    "requestBody": {"required": True, "content": {"multipart/form-data": {
                        "schema": {"type": "object", "required": ["request"], "properties": {
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                                      "maxItems": limits.max_files,
                                      "description": "jpg, tif, pdf or txt documents"},
                            "request": {"$ref": _REF + "FaxRequest"}}},
                        "encoding": {"request": {"contentType": "application/json"}}}}},
                    "responses": {
                        "200": {"description": "the fax is queued", "content": json_of("Created")},
                        "204": {"description": "there are no faxes to be sent"},
                        **_AUTH_ERRORS,
                        "400": _error("the request is invalid",
                                      ["fx_recipients_invalid", "fx_file_invalid", "fx_max_files_reached",
                                       "internal_server_error", "user_invalid", "extension_invalid"]),
                    }},
                "get": {
                    "operationId": "listFaxes", "summary": "The extension's faxes, newest first",
                    "parameters": [
                        {"name": "startIndex", "in": "query",
                         "schema": {"type": "integer", "minimum": 0, "maximum": 1 << 31, "default": 0}},
                        {"name": "count", "in": "query",
                         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}],
                    "responses": {"200": {"description": "a page of faxes", "content": json_of("FaxList")},
                                  **_AUTH_ERRORS}},
            },
            "/uapi/faxes/{userId}/{extension}/{faxId}": {
                "parameters": _PATH_PARAMS + [_FAX_ID],
                "get": {"operationId": "getFax", "summary": "One fax and its status per recipient",
                        "responses": {"200": {"description": "the fax", "content": json_of("Fax")},
                                      "404": _error("no such fax on this extension", ["not_found"]),
                                      **_AUTH_ERRORS}},
                "delete": {"operationId": "cancelFax", "summary": "Cancel what has not been sent",
                           "responses": {"200": {"description": "the fax after canceling", "content": json_of("Fax")},
                                         "404": _error("no such fax on this extension", ["not_found"]),
                                         **_AUTH_ERRORS}},
            },
        },
    }
