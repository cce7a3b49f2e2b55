"""The ``request`` part of Create Faxes: recipients and faxpipe's optional fields.

``{"recipients": ["7778888", ...], "resolution": "fine", "headerText": "...", "csid": "...",
"maxAttempts": 3, "retryDelay": 120}``; only ``recipients`` is required. A recipient is a phone
number ``*(DIGIT / "+")`` or an extension number ``*(DIGIT / "*")`` (api-contract.md). Every
refusal is ``fx_recipients_invalid`` with a message saying which field and why.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..jobs.config import RetryPolicy
from .problems import recipients_invalid

NUMBER_RE = re.compile(r"[0-9+*]{1,40}")
NUMBER_PATTERN = r"^\+?[0-9*]*[0-9][0-9*]*$"     # the same rule for the OpenAPI document (and ≤ 40)
HEADER_PATTERN = "^[^\u0000-\u001f\u007f-\u009f]*$"   # no control characters
CSID_RE = re.compile(r"[0-9+ ]{0,20}")
RESOLUTIONS = ("standard", "fine", "superfine")
MAX_HEADER = 50
MAX_ATTEMPTS = 10
MAX_RETRY_DELAY = 24 * 3600


@dataclass(frozen=True)
class FaxRequest:
    recipients: tuple[str, ...]
    resolution: str = "fine"
    header_text: str | None = None
    csid: str | None = None
    retry: RetryPolicy = RetryPolicy()


def _number(value, index: int) -> str:
    if not isinstance(value, str):
        raise recipients_invalid(f"recipient {index + 1} must be a string of digits, not {json.dumps(value)[:40]}")
    if not NUMBER_RE.fullmatch(value) or not any(c.isdigit() for c in value):
        raise recipients_invalid(f"recipient {index + 1} ({value[:40]!r}) is not a phone or extension "
                                 f"number (digits, '+' and '*', at most 40)")
    if "+" in value[1:]:
        raise recipients_invalid(f"recipient {index + 1} ({value!r}): '+' may only lead the number")
    return value


def _integer(fields: dict, name: str, low: int, high: int) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise recipients_invalid(f"{name} must be a whole number from {low} to {high}")
    return value


def parse(raw: bytes | None, max_recipients: int, defaults: RetryPolicy) -> FaxRequest:
    if raw is None:
        raise recipients_invalid("the request part (JSON with \"recipients\") is missing")
    try:
        fields = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise recipients_invalid(f"the request part is not valid JSON ({exc})") from None
    if not isinstance(fields, dict):
        raise recipients_invalid("the request part must be a JSON object")
    recipients = fields.get("recipients")
    if recipients is None:
        raise recipients_invalid("recipients is missing")
    if not isinstance(recipients, list):
        raise recipients_invalid("recipients must be a list of numbers")
    if not recipients:
        raise recipients_invalid("recipients is empty")
    if len(recipients) > max_recipients:
        raise recipients_invalid(f"{len(recipients)} recipients, more than the {max_recipients} allowed")
    numbers = tuple(_number(v, i) for i, v in enumerate(recipients))
    if len(set(numbers)) != len(numbers):
        raise recipients_invalid("a recipient appears twice")

    resolution = fields.get("resolution", "fine")
    if resolution not in RESOLUTIONS:
        raise recipients_invalid(f"resolution must be one of {', '.join(RESOLUTIONS)}")
    header = fields.get("headerText")
    if header is not None and (not isinstance(header, str) or len(header) > MAX_HEADER
                               or not re.fullmatch(HEADER_PATTERN, header)
                               or any(0xD800 <= ord(c) <= 0xDFFF for c in header)):
        raise recipients_invalid(f"headerText must be text of at most {MAX_HEADER} characters, "
                                 f"without control characters")
    csid = fields.get("csid")
    if csid is not None and (not isinstance(csid, str) or not CSID_RE.fullmatch(csid)):
        raise recipients_invalid("csid must be at most 20 digits, '+' and spaces")
    attempts = _integer(fields, "maxAttempts", 1, MAX_ATTEMPTS)
    delay = _integer(fields, "retryDelay", 0, MAX_RETRY_DELAY)
    retry = RetryPolicy(attempts if attempts is not None else defaults.max_attempts,
                        float(delay) if delay is not None else defaults.delay)
    return FaxRequest(numbers, resolution, header, csid, retry)
