"""The ASGI plumbing: a request's parts, JSON and empty responses, reading a body in chunks."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class Request:
    method: str
    path: str
    query: bytes
    headers: dict[bytes, bytes]
    receive: object

    @classmethod
    def from_scope(cls, scope, receive) -> "Request":
        headers: dict[bytes, bytes] = {}
        for name, value in scope.get("headers", ()):
            headers.setdefault(name.lower(), value)
        return cls(scope["method"], scope["path"], scope.get("query_string", b""), headers, receive)

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.encode("latin-1"))
        return None if value is None else value.decode("latin-1")

    async def chunks(self):
        """The body, as the client sends it."""
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            if body:
                yield body
            if not message.get("more_body", False):
                return


async def send_json(send, status: int, body, headers: tuple = ()) -> None:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(data)).encode())] + list(headers)})
    await send({"type": "http.response.body", "body": data})


async def send_empty(send, status: int, headers: tuple = ()) -> None:
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": b""})
