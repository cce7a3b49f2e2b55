"""The Fax resource as JSON (api-contract.md "The Fax resource"); null fields are omitted."""

from __future__ import annotations

import datetime as _dt


def iso(seconds: float) -> str:
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def prune(value):
    """Drop None values from dicts, recursively (UAPI: null fields are omitted)."""
    if isinstance(value, dict):
        return {k: prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def _number(value) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() else value


def _recipient(row: dict) -> dict:
    error = None
    if row["error_code"] is not None:
        error = {"type": row["error_type"], "code": row["error_code"],
                 "retryable": bool(row["error_retryable"]), "detail": row["error_detail"]}
    return {"number": row["number"], "status": row["state"], "attempts": int(row["attempts"]),
            "pagesSent": int(row["pages_sent"]), "remoteCsid": row["remote_csid"] or None,
            "error": error}


def fax(row: dict, extension: str) -> dict:
    recipients = row["recipients"]
    updated = max([row["updated"]] + [r["updated"] for r in recipients])
    return prune({
        "id": str(row["id"]), "uid": row["uid"], "recipients": [r["number"] for r in recipients],
        "extension": extension, "status": row["status"], "pages": int(row["pages"]),
        "resolution": row["resolution"], "headerText": row["header_text"], "csid": row["csid"],
        "maxAttempts": int(row["max_attempts"]), "retryDelay": _number(row["retry_delay"]),
        "created": iso(row["created"]), "updated": iso(updated),
        "recipientStatus": [_recipient(r) for r in recipients],
    })
