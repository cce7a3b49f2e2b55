"""The body of a Create Faxes request: ``multipart/form-data`` read as it streams in, within limits.

The byte-level parsing is python-multipart's ``MultipartParser`` (a small, fuzzed, streaming
state machine); this module keeps the limits the contract needs while the bytes arrive, so an
oversized or endless upload is refused without being held: at most ``max_files`` parts named
``files``, ``max_parts`` parts in all, ``max_file_bytes`` in one file, ``max_total_bytes`` in all
files, ``max_request_bytes`` in the ``request`` part. Each breach is an :class:`ApiError` with the
UAPI code it means.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from ..jobs.config import ApiLimits
from .problems import ApiError, file_invalid, max_files, recipients_invalid

MAX_HEADER_BYTES = 4096


@dataclass
class Form:
    files: list[tuple[str, bytes]] = field(default_factory=list)
    request: bytes | None = None


def _mib(n: int) -> str:
    return f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n} bytes"


def _display_name(filename: bytes | None, index: int) -> str:
    """The part's filename for messages and the type check: its last component, data only."""
    if not filename:
        return f"file {index}"
    name = filename.decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable())[:200]
    return name or f"file {index}"


def boundary_of(content_type: str | None) -> bytes:
    if not content_type:
        raise file_invalid("the body must be multipart/form-data (no Content-Type)")
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise file_invalid("the body must be multipart/form-data with a boundary, "
                           f"not {content_type[:100]!r}")
    if len(boundary) > 70:
        raise file_invalid("the multipart boundary is longer than 70 characters (RFC 2046)")
    return boundary


class FormReader:
    """Feed the body chunk by chunk (:meth:`feed`), then :meth:`finish` for the :class:`Form`."""

    def __init__(self, content_type: str | None, limits: ApiLimits):
        self.limits = limits
        self.form = Form()
        self._parts = 0
        self._total = 0
        self._ended = False
        self._error: ApiError | None = None
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._kind: str | None = None      # "files", "request" or None (ignored) for the current part
        self._name = ""
        self._buf = bytearray()
        self._parser = MultipartParser(boundary_of(content_type), {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value_cb, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end, "on_end": self._end,
        }, max_header_count=16, max_header_size=MAX_HEADER_BYTES)

    # python-multipart callbacks: they record the first breach; feed() raises it.
    def _fail(self, error: ApiError) -> None:
        if self._error is None:
            self._error = error

    def _part_begin(self) -> None:
        self._parts += 1
        self._headers = {}
        self._kind, self._buf = None, bytearray()
        if self._parts > self.limits.max_parts:
            self._fail(max_files(f"the request has more than {self.limits.max_parts} parts"))

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[bytes(self._header_name).strip().lower()] = bytes(self._header_value).strip()
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"")
        _, params = parse_options_header(disposition)
        name = params.get(b"name")
        if name == b"files":
            count = len(self.form.files) + 1
            if count > self.limits.max_files:
                self._fail(max_files(f"more than {self.limits.max_files} files in one fax"))
            self._kind, self._name = "files", _display_name(params.get(b"filename"), count)
        elif name == b"request":
            if self.form.request is not None:
                self._fail(recipients_invalid("the request part appears twice"))
            self._kind = "request"

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._kind is None or self._error is not None:
            return
        size = end - start
        if self._kind == "files":
            self._total += size
            if len(self._buf) + size > self.limits.max_file_bytes:
                return self._fail(file_invalid(f"{self._name}: larger than the "
                                               f"{_mib(self.limits.max_file_bytes)} a file may be"))
            if self._total > self.limits.max_total_bytes:
                return self._fail(file_invalid(f"the files add up to more than "
                                               f"{_mib(self.limits.max_total_bytes)}"))
        elif len(self._buf) + size > self.limits.max_request_bytes:
            return self._fail(recipients_invalid(f"the request part is larger than "
                                                 f"{_mib(self.limits.max_request_bytes)}"))
        self._buf += data[start:end]

    def _part_end(self) -> None:
        if self._error is not None:
            return
        if self._kind == "files":
            self.form.files.append((self._name, bytes(self._buf)))
        elif self._kind == "request":
            self.form.request = bytes(self._buf)
        self._kind, self._buf = None, bytearray()

    def _end(self) -> None:
        self._ended = True

    @property
    def failed(self) -> ApiError | None:
        return self._error

    def feed(self, chunk: bytes) -> None:
        """Parse more of the body; raises the first limit breached or a malformed body."""
        if self._error is None and chunk:
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                self._fail(file_invalid(f"the multipart body is malformed ({exc})"))
        if self._error is not None:
            raise self._error

    def finish(self) -> Form:
        if self._error is not None:
            raise self._error
        self._parser.finalize()
        if not self._ended:
            raise file_invalid("the multipart body ends before its closing boundary")
        return self.form
