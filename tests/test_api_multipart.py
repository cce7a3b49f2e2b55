"""Property tests of the streamed multipart reader: any chunking gives the same form, every
limit holds to the byte, and hostile bytes end in an ApiError (a UAPI code), never a crash."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faxpipe.api.multipart import FormReader
from faxpipe.api.problems import ApiError
from faxpipe.jobs import ApiLimits

BOUNDARY = "fxpQ7boundary9Zk"
CT = f"multipart/form-data; boundary={BOUNDARY}"
LIMITS = ApiLimits(max_files=3, max_recipients=5, max_file_bytes=300, max_total_bytes=700,
                   max_parts=5, max_request_bytes=200)

part = st.tuples(st.sampled_from(["files", "request", "other"]),
                 st.one_of(st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126,
                                                            exclude_characters='"\\'), max_size=12)),
                 st.binary(max_size=400))


def encode(parts) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def expected_error(parts) -> str | None:
    """The first limit the parts break, in the order the reader meets them."""
    files = total = 0
    requests = 0
    for index, (name, _, data) in enumerate(parts, start=1):
        if index > LIMITS.max_parts:
            return "fx_max_files_reached"
        if name == "files":
            files += 1
            if files > LIMITS.max_files:
                return "fx_max_files_reached"
            total += len(data)
            if len(data) > LIMITS.max_file_bytes or total > LIMITS.max_total_bytes:
                return "fx_file_invalid"
        elif name == "request":
            requests += 1
            if requests > 1:
                return "fx_recipients_invalid"
            if len(data) > LIMITS.max_request_bytes:
                return "fx_recipients_invalid"
    return None


def read(body: bytes, cuts) -> object:
    reader = FormReader(CT, LIMITS)
    points = sorted({c % (len(body) + 1) for c in cuts})
    start = 0
    for point in points + [len(body)]:
        reader.feed(body[start:point])
        start = point
    return reader.finish()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(part, max_size=7), cuts=st.lists(st.integers(0, 1 << 16), max_size=12))
def test_any_chunking_same_form_and_limits_hold(parts, cuts):
    body = encode(parts)
    want = expected_error(parts)
    if want is not None:
        with pytest.raises(ApiError) as info:
            read(body, cuts)
        assert info.value.code == want
        return
    form = read(body, cuts)
    assert [data for _, data in form.files] == [data for name, _, data in parts if name == "files"]
    requests = [d for n, _, d in parts if n == "request"]
    assert form.request == (requests[0] if requests else None)
    for (name, _), (_, filename, _) in zip(form.files, [p for p in parts if p[0] == "files"]):
        assert "/" not in name and name    # data only, never a path


@pytest.mark.parametrize("size, ok", [(300, True), (301, False)])
def test_file_limit_to_the_byte(size, ok):
    body = encode([("files", "a.txt", b"x" * size)])
    if ok:
        assert read(body, []).files == [("a.txt", b"x" * size)]
    else:
        with pytest.raises(ApiError, match="a.txt: larger than the 300 bytes"):
            read(body, [])


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(part, max_size=4), flips=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)),
                                                       max_size=6), cut=st.integers(0, 1 << 16))
def test_damaged_bodies_end_in_an_api_error_or_a_form(parts, flips, cut):
    body = bytearray(encode(parts))
    for pos, value in flips:
        body[pos % len(body)] = value
    body = bytes(body[: max(1, cut % (len(body) + 1))])
    try:
        read(body, [cut])
    except ApiError as exc:
        assert exc.code in ("fx_file_invalid", "fx_max_files_reached", "fx_recipients_invalid")


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data", "multipart/mixed; boundary=x",
                                          "multipart/form-data; boundary=" + "b" * 71])
def test_bad_content_type(content_type):
    with pytest.raises(ApiError) as info:
        FormReader(content_type, LIMITS)
    assert info.value.code == "fx_file_invalid"


def test_filename_is_data_only():
    form = read(encode([("files", "../../etc/passwd", b"x"), ("files", "C:\\Users\\x\\fax.pdf", b"y"),
                        ("files", None, b"z")]), [])
    assert [n for n, _ in form.files] == ["passwd", "fax.pdf", "file 3"]
