"""The UAPI fax endpoints served by uvicorn, driven by a real multipart client (httpx): the
specification's example, every error row of the contract with its exact body, the
authorization matrix, Idempotency-Key, GET / list / DELETE, upload limits, the OpenAPI document."""

from __future__ import annotations

import json
import re
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from faxpipe import tiff
from faxpipe.api import FaxApi
from faxpipe.api import service as api_service
from faxpipe.jobs import ApiLimits, Config, Store

LIMITS = ApiLimits(max_files=3, max_recipients=3, max_file_bytes=64 << 10, max_total_bytes=100 << 10,
                   max_parts=6, max_request_bytes=4096)
EXAMPLE = "/uapi/faxes/@me/0003*210"


class Server:
    def __init__(self, app):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started and time.time() < deadline:
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    data = tmp_path_factory.mktemp("api")
    store = Store.open(data)
    a = store.accounts
    a.add_org("acme")
    a.add_org("other")
    a.add_org("ops")
    ids = {"alice": a.add_user("alice", "acme"), "bob": a.add_user("bob", "acme"),
           "carol": a.add_user("carol", "acme", admin=True), "dave": a.add_user("dave", "other"),
           "root": a.add_user("root", "ops", global_admin=True)}
    a.add_extension("0003*210", "alice")
    a.add_extension("0003*211", "bob")
    a.add_extension("0004*100", "dave")
    tokens = {name: a.create_token(name) for name in ids}
    tokens["expired"] = a.create_token("alice", ttl=-1)
    app = FaxApi(store, data, Config(limits=LIMITS))
    with Server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield {"client": client, "store": store, "ids": ids, "tokens": tokens, "data": data, "app": app}
    store.close()


@pytest.fixture
def client(world):
    return world["client"]


def auth(world, who="alice"):
    return {"Authorization": f"Bearer {world['tokens'][who]}"}


def post(world, files=(("fax.txt", b"This is my fax"),), request=None, who="alice", path=EXAMPLE, headers=None):
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
    if request is not False:
        parts.append(("request", (None, json.dumps(request or {"recipients": ["7778888"]}).encode())))
    return world["client"].post(path, files=parts, headers={**auth(world, who), **(headers or {})})


def error(code, message):
    return {"error": {"code": code, "message": message}}


# -- the specification's example ----------------------------------------------------------------

def test_specification_example(world):
    r = post(world, files=[("/path/to/file/fax.txt", b"This is my fax")])
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "uid"} and body["id"].isdigit() and re.fullmatch(r"[0-9a-f]{32}", body["uid"])
    fax = world["client"].get(f"{EXAMPLE}/{body['id']}", headers=auth(world)).json()
    assert fax["uid"] == body["uid"] and fax["status"] == "queued" and fax["pages"] == 1
    assert fax["recipients"] == ["7778888"] and fax["extension"] == "0003*210"
    assert fax["recipientStatus"] == [{"number": "7778888", "status": "queued", "attempts": 0, "pagesSent": 0}]
    row = world["store"].fax(int(body["id"]))
    [page] = tiff.read(row["document"])
    assert page.compression == 4 and page.page.width == 1728 and page.page.yres == pytest.approx(196, abs=1)


def test_specification_example_as_raw_bytes(world):
    """The spec's body with the leading "--" its delimiters lack (RFC 2046)."""
    boundary = "-----325343636"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"/path/to/file/fax.txt\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\nThis is my fax\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"request\";\r\n\r\n"
            f"{{\n  \"recipients\": [\"7778888\"]\n}}\r\n--{boundary}--\r\n").encode()
    r = world["client"].post(EXAMPLE, content=body, headers={
        **auth(world), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 200 and set(r.json()) == {"id", "uid"}


def test_optional_fields(world):
    r = post(world, request={"recipients": ["+15550100", "0003*211"], "resolution": "standard",
                             "headerText": "ACME accounts", "csid": "+1 555 0100", "maxAttempts": 5,
                             "retryDelay": 30})
    assert r.status_code == 200
    fax = world["client"].get(f"{EXAMPLE}/{r.json()['id']}", headers=auth(world)).json()
    assert (fax["resolution"], fax["headerText"], fax["csid"], fax["maxAttempts"], fax["retryDelay"]) == \
        ("standard", "ACME accounts", "+1 555 0100", 5, 30)
    [page] = tiff.read(world["store"].fax(int(fax["id"]))["document"])
    assert page.page.yres == pytest.approx(98, abs=1)


# -- 204 -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("files", [(), (("empty.txt", b""),), (("a.txt", b""), ("b.pdf", b""))])
def test_nothing_to_send_is_204(world, files):
    before = world["store"].counts()
    r = post(world, files=files)
    assert (r.status_code, r.content) == (204, b"")
    assert world["store"].counts() == before


# -- every error row of the contract ------------------------------------------------------------

RECIPIENT_ERRORS = [
    (False, 'the request part (JSON with "recipients") is missing'),
    ({"fax": 1}, "recipients is missing"),
    ({"recipients": "7778888"}, "recipients must be a list of numbers"),
    ({"recipients": []}, "recipients is empty"),
    ({"recipients": ["777-8888"]}, "recipient 1 ('777-8888') is not a phone or extension number (digits, '+' and '*', at most 40)"),
    ({"recipients": ["1", 2]}, "recipient 2 must be a string of digits, not 2"),
    ({"recipients": ["1", "2", "3", "4"]}, "4 recipients, more than the 3 allowed"),
    ({"recipients": ["1"], "resolution": "ultra"}, "resolution must be one of standard, fine, superfine"),
    ({"recipients": ["1"], "maxAttempts": 0}, "maxAttempts must be a whole number from 1 to 10"),
]


@pytest.mark.parametrize("request_part, message", RECIPIENT_ERRORS)
def test_fx_recipients_invalid(world, request_part, message):
    r = post(world, request=request_part)
    assert (r.status_code, r.json()) == (400, error("fx_recipients_invalid", message))


def test_fx_recipients_invalid_not_json(world):
    parts = [("files", ("a.txt", b"hi")), ("request", (None, b"{recipients"))]
    r = world["client"].post(EXAMPLE, files=parts, headers=auth(world))
    assert r.status_code == 400 and r.json()["error"]["code"] == "fx_recipients_invalid"
    assert r.json()["error"]["message"].startswith("the request part is not valid JSON (")


@pytest.mark.parametrize("name, data, message", [
    ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "scan.png: a .png file is not accepted; send jpg, tif, pdf or txt"),
    ("photo.pdf", b"\xff\xd8\xff\xe0" + b"\0" * 40, "photo.pdf: the name says a PDF document but the content is a JPEG image"),
    ("blob", b"\0\1\2\3\xfe\xff" * 10, "blob: binary data, not a jpg, tif, pdf or txt file"),
])
def test_fx_file_invalid(world, name, data, message):
    r = post(world, files=[("ok.txt", b"fine"), (name, data)])
    assert (r.status_code, r.json()) == (400, error("fx_file_invalid", message))


def test_fx_max_files_reached(world):
    r = post(world, files=[(f"{i}.txt", b"x") for i in range(4)])
    assert (r.status_code, r.json()) == (400, error("fx_max_files_reached", "more than 3 files in one fax"))


def test_internal_server_error_400_when_queueing_fails(world, monkeypatch):
    def broken(fax, now=None):
        raise RuntimeError("disk on fire")

    stored = set((world["data"] / "faxes").iterdir())
    monkeypatch.setattr(world["store"], "submit", broken)
    r = post(world)
    assert (r.status_code, r.json()) == (400, error("internal_server_error", "the fax could not be queued (RuntimeError)"))
    assert set((world["data"] / "faxes").iterdir()) == stored   # the file of a fax not queued is removed


def test_internal_server_error_500_without_details(world, monkeypatch):
    def crash(*args, **kwargs):
        raise ZeroDivisionError("secret internals")

    monkeypatch.setattr(api_service, "convert_to_tiff", crash)
    r = post(world)
    assert (r.status_code, r.json()) == (500, error("internal_server_error", "an unexpected error occurred"))


@pytest.mark.parametrize("user, message", [
    ("@you", "userId must be @me, @viewer, @owner or a numeric id, not '@you'"),
    ("alice", "userId must be @me, @viewer, @owner or a numeric id, not 'alice'"),
    ("999", "there is no user 999"),
])
def test_user_invalid(world, user, message):
    r = post(world, path=f"/uapi/faxes/{user}/0003*210")
    assert (r.status_code, r.json()) == (400, error("user_invalid", message))


@pytest.mark.parametrize("ext, message", [
    ("@self", "the extension cannot be @self"),
    ("0003-210", "'0003-210' is not an extension number (digits and *)"),
    ("0009*999", "there is no extension 0009*999"),
])
def test_extension_invalid(world, ext, message):
    r = post(world, path=f"/uapi/faxes/@me/{ext}")
    assert (r.status_code, r.json()) == (400, error("extension_invalid", message))


@pytest.mark.parametrize("headers, message", [
    ({}, "an access token is required (Authorization: Bearer TOKEN)"),
    ({"Authorization": "Bearer fxp_nope"}, "the access token is unknown or expired"),
    ({"Authorization": "Basic YWxpY2U6eA=="}, "an access token is required (Authorization: Bearer TOKEN)"),
    ("expired", "the access token is unknown or expired"),
])
def test_access_denied_401(world, headers, message):
    if headers == "expired":
        headers = auth(world, "expired")
    r = world["client"].post(EXAMPLE, files=[("request", (None, b'{"recipients":["1"]}'))], headers=headers)
    assert (r.status_code, r.json()) == (401, error("access_denied", message))


def test_access_denied_403(world):
    r = post(world, path="/uapi/faxes/@me/0003*211")
    assert (r.status_code, r.json()) == (403, error("access_denied", "user alice may not use extension 0003*211"))
    r = post(world, path=f"/uapi/faxes/{world['ids']['bob']}/0003*211")
    assert (r.status_code, r.json()) == (403, error("access_denied", f"user alice may not act on behalf of user {world['ids']['bob']}"))


def test_token_in_query_parameter(world):
    r = world["client"].get(f"{EXAMPLE}?accessRequestToken={world['tokens']['alice']}")
    assert r.status_code == 200


def test_request_not_implemented(world):
    r = world["client"].get("/uapi/calls/@me", headers=auth(world))
    assert (r.status_code, r.json()) == (501, error("request_not_implemented", "GET /uapi/calls/@me is not implemented"))


def test_method_not_allowed_on_the_fax_paths(world):
    """A verb the resource does not take is 405 with Allow (what schemathesis checks), not 501."""
    r = world["client"].put(EXAMPLE, headers=auth(world))
    assert (r.status_code, r.headers["allow"], r.json()) == (405, "GET, POST", error(
        "method_not_allowed", "PUT is not allowed on /uapi/faxes/@me/0003*210 (allowed: GET, POST)"))
    r = world["client"].request("PATCH", f"{EXAMPLE}/1", headers=auth(world))
    assert (r.status_code, r.headers["allow"]) == (405, "GET, DELETE")


# -- the authorization matrix -------------------------------------------------------------------
# caller × userId (@me, @viewer, @owner, alice's id, dave's id) × extension (alice's own 0003*210,
# bob's 0003*211 in the same organization, dave's 0004*100 in another): 2 = 200, 3 = 403, 1 = 401.
MATRIX = {
    "alice": {"@me": "233", "@viewer": "233", "@owner": "233", "alice": "233", "dave": "333"},
    "carol": {"@me": "223", "@viewer": "223", "@owner": "223", "alice": "223", "dave": "333"},
    "root": {"@me": "222", "@viewer": "222", "@owner": "222", "alice": "222", "dave": "222"},
    None: {"@me": "111", "@viewer": "111", "@owner": "111", "alice": "111", "dave": "111"},
}
EXTENSIONS = ("0003*210", "0003*211", "0004*100")


@pytest.mark.parametrize("caller", list(MATRIX), ids=str)
def test_authorization_matrix(world, caller):
    got, want = {}, {}
    for user_ref, row in MATRIX[caller].items():
        ref = str(world["ids"][user_ref]) if user_ref in world["ids"] else user_ref
        for ext, code in zip(EXTENSIONS, row):
            headers = auth(world, caller) if caller else {}
            status = world["client"].get(f"/uapi/faxes/{ref}/{ext}", headers=headers).status_code
            got[user_ref, ext] = status
            want[user_ref, ext] = {"1": 401, "2": 200, "3": 403}[code]
    assert got == want


def test_admin_sends_on_behalf(world):
    r = post(world, who="carol", path="/uapi/faxes/@owner/0003*211")
    assert r.status_code == 200
    assert world["store"].fax(int(r.json()["id"]))["user_id"] == world["ids"]["bob"]


# -- Idempotency-Key ------------------------------------------------------------------------------

def test_idempotency_key(world):
    first = post(world, headers={"Idempotency-Key": "order-42"})
    again = post(world, headers={"Idempotency-Key": "order-42"})
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    other_user = post(world, who="bob", path="/uapi/faxes/@me/0003*211", headers={"Idempotency-Key": "order-42"})
    assert other_user.json()["id"] != first.json()["id"]
    other_key = post(world, headers={"Idempotency-Key": "order-43"})
    assert other_key.json()["id"] != first.json()["id"]


# -- GET / list / DELETE ------------------------------------------------------------------------

def test_get_list_delete(world):
    c = world["client"]
    ids = [post(world, who="dave", path="/uapi/faxes/@me/0004*100").json()["id"] for _ in range(3)]
    page = c.get("/uapi/faxes/@me/0004*100?startIndex=0&count=2", headers=auth(world, "dave")).json()
    assert [f["id"] for f in page["entry"]] == ids[::-1][:2] and page["totalResults"] == 3
    assert page["paging"] == {"next": "/uapi/faxes/@me/0004*100?startIndex=2&count=2"}
    r = c.delete(f"/uapi/faxes/@me/0004*100/{ids[0]}", headers=auth(world, "dave"))
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    assert r.json()["recipientStatus"][0]["status"] == "canceled"
    r = c.get(f"/uapi/faxes/@me/0004*100/{ids[0]}", headers=auth(world, "dave"))
    assert r.json()["status"] == "canceled"
    # a fax of another extension is not found through this one
    r = c.get(f"{EXAMPLE}/{ids[0]}", headers=auth(world, "root"))
    assert (r.status_code, r.json()) == (404, error("not_found", f"extension 0003*210 has no fax '{ids[0]}'"))
    assert c.get(f"{EXAMPLE}/abc", headers=auth(world)).status_code == 404


# -- limits ---------------------------------------------------------------------------------------

def test_oversized_file(world):
    r = post(world, files=[("big.txt", b"a" * ((64 << 10) + 1))])
    assert (r.status_code, r.json()) == (400, error("fx_file_invalid", "big.txt: larger than the 65536 bytes a file may be"))


def test_total_size(world):
    r = post(world, files=[(f"{i}.txt", b"a" * (40 << 10)) for i in range(3)])
    assert (r.status_code, r.json()) == (400, error("fx_file_invalid", "the files add up to more than 102400 bytes"))


def test_declared_length_refused_before_reading(world):
    big = b"a" * (200 << 10)
    r = post(world, files=[("a.txt", big)])
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("the request body is ")


def test_too_many_parts(world):
    parts = [("note", (None, b"x")) for _ in range(7)]
    r = world["client"].post(EXAMPLE, files=parts, headers=auth(world))
    assert (r.status_code, r.json()) == (400, error("fx_max_files_reached", "the request has more than 6 parts"))


def test_not_multipart(world):
    r = world["client"].post(EXAMPLE, json={"recipients": ["1"]}, headers=auth(world))
    assert r.status_code == 400 and r.json()["error"]["code"] == "fx_file_invalid"


# -- the event loop is never blocked by a conversion -------------------------------------------

def test_conversion_does_not_block_the_event_loop(world, monkeypatch):
    real = api_service.convert_to_tiff

    def slow(*args):
        time.sleep(1.0)
        return real(*args)

    monkeypatch.setattr(api_service, "convert_to_tiff", slow)
    results = {}
    t = threading.Thread(target=lambda: results.setdefault("post", post(world)))
    t.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert world["client"].get("/uapi/openapi.json").status_code == 200
    results["get_seconds"] = time.monotonic() - started
    t.join()
    assert results["post"].status_code == 200 and results["get_seconds"] < 0.5


# -- the OpenAPI document -----------------------------------------------------------------------

def test_openapi_document(world):
    doc = world["client"].get("/uapi/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    post_op = doc["paths"]["/uapi/faxes/{userId}/{extension}"]["post"]
    assert set(post_op["responses"]) >= {"200", "204", "400", "401", "403", "500"}
    assert set(doc["paths"]["/uapi/faxes/{userId}/{extension}/{faxId}"]) >= {"get", "delete"}
