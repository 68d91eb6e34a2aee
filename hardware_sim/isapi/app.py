"""The ISAPI web server of the virtual terminal: one raw ASGI app for every device in the process.

The device is chosen by the local address the connection arrived on (``scope["server"]``), then:
Digest authentication (except where a resource says ``auth=False``), routing through
:data:`hardware_sim.isapi.http.ROUTES` (filled by :mod:`hardware_sim.isapi.resources`), the handler.
Every failure — bad JSON/XML, broken multipart, unknown person, unknown path, a bug — becomes the
device's own error envelope (JSON with ``?format=json``, XML ``ResponseStatus`` otherwise); nothing
escapes as a bare 500. Every request is journalled as ``http_in``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from hardware_sim.isapi import messages as m
from hardware_sim.isapi import resources
from hardware_sim.isapi.http import (
    DRAIN_LIMIT,
    MAX_BODY,
    ROUTES,
    IsapiError,
    Request,
    Response,
    error_response,
)

if TYPE_CHECKING:
    from hardware_sim.isapi.server import IsapiServer

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

assert resources.LOADED  # every resource module has added its routes to ROUTES

_HTML_401 = (
    b"<!DOCTYPE html>\n<html><head><title>Document Error: Unauthorized</title></head>\n"
    b"<body><h2>Access Error: 401 -- Unauthorized</h2>\n<p>Authentication Error</p>\n</body>\n</html>\n"
)


class IsapiApp:
    """The raw ASGI callable shared by every device of an :class:`~hardware_sim.isapi.server.IsapiServer`."""

    def __init__(self, server: IsapiServer) -> None:
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        local = scope.get("server") or ("", 0)
        device = self.server.lookup(str(local[0]), int(local[1] or 0))
        path = unquote(scope["path"])
        query_string = scope.get("query_string", b"").decode("latin-1")
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        wants_json = query.get("format", "").lower() == "json"
        if device is None:
            await self._send(send, error_response(None, path, wants_json, m.NOT_SUPPORTED, "no device here"), True)
            return
        if not device.online:  # normally the protocol resets first; this is the fallback
            resp = Response(503, b"", "text/plain", [(b"connection", b"close")])
            await self._send(send, resp, True)
            device.log("http_in", method=scope["method"], path=path, status=503, note="offline")
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        raw_uri = scope.get("raw_path", scope["path"].encode()).decode("latin-1") + (
            f"?{query_string}" if query_string else ""
        )
        client = str((scope.get("client") or ("?", 0))[0])
        device.requests += 1
        close = False
        try:
            declared = int(headers.get("content-length", "0") or 0)
        except ValueError:
            declared = MAX_BODY + 1
        body = await self._read_body(receive, declared)
        if body is None:  # drained (so the client reads our answer) but not kept
            resp = error_response(device, path, wants_json, m.MESSAGE_TOO_LONG, f"at most {MAX_BODY} bytes")
            close = True
        else:
            req = Request(device, method, path, raw_uri, query, headers, body, client)
            resp = await self._handle(req)
        extra = [(b"keep-alive", device.fw.keep_alive_header.encode())]
        if device.fw.server_header:
            extra.append((b"server", device.fw.server_header.encode()))
        resp.headers.extend(extra)
        await self._send(send, resp, close)
        device.log("http_in", method=method, path=path, status=resp.status)

    async def _read_body(self, receive: Receive, declared: int) -> bytes | None:
        """The body, or None when it is larger than MAX_BODY (then up to DRAIN_LIMIT is read and dropped)."""
        chunks: list[bytes] = []
        size = 0
        keep = 0 <= declared <= MAX_BODY
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                keep = False
                chunks.clear()
            if keep:
                chunks.append(chunk)
            if not message.get("more_body", False) or size > DRAIN_LIMIT:
                break
        return b"".join(chunks) if keep else None

    async def _handle(self, req: Request) -> Response:
        d = req.device
        resource, params = ROUTES.match(req.path)
        json_only = resource is not None and resource.json_only
        wants_json = req.wants_json or json_only
        if resource is None or resource.auth:
            denied = self._authenticate(req, wants_json)
            if denied is not None:
                return denied
        if resource is None:
            return error_response(d, req.path, wants_json, m.NOT_SUPPORTED, f"{req.path} is not supported")
        handler = resource.methods.get(req.method)
        if handler is None:
            return error_response(d, req.path, wants_json, m.METHOD_NOT_ALLOWED, f"{req.method} {req.path}")
        req.params = params
        if json_only:
            req.query.setdefault("format", "json")
        d.settle_delete()
        try:
            return await handler(req)
        except IsapiError as exc:
            return error_response(d, req.path, req.wants_json, exc.error, exc.detail)
        except Exception as exc:  # a simulator bug must still look like a device answer
            d.log("http_error", method=req.method, path=req.path, error=f"{type(exc).__name__}: {exc}")
            return error_response(d, req.path, req.wants_json, m.DEVICE_ERROR, f"{type(exc).__name__}")

    def _authenticate(self, req: Request, wants_json: bool) -> Response | None:
        d = req.device
        verdict = d.auth.check(req.method, req.raw_uri, req.headers.get("authorization"), req.client)
        if verdict.ok:
            return None
        if verdict.outcome in ("failed", "locked"):
            d.log("auth_failed", outcome=verdict.outcome, reason=verdict.reason, client=req.client)
        if verdict.outcome == "locked":
            resp = error_response(
                d,
                req.path,
                wants_json,
                m.USER_LOCKED,
                f"locked for {int(verdict.unlock_in) + 1} s",
                lockStatus="lock",
                unlockTime=int(verdict.unlock_in) + 1,
            )
        elif d.fw.unauthorized_body == "html":
            resp = Response(401, _HTML_401, "text/html")
        else:
            resp = error_response(d, req.path, wants_json, m.BAD_AUTHORIZATION, verdict.reason)
        resp.status = 401
        for challenge in d.auth.challenges(stale=verdict.outcome == "stale"):
            resp.headers.append((b"www-authenticate", challenge.encode("latin-1")))
        return resp

    async def _send(self, send: Send, resp: Response, close: bool) -> None:
        headers = [
            (b"content-type", resp.content_type.encode("latin-1")),
            (b"content-length", str(len(resp.body)).encode()),
            *resp.headers,
        ]
        if close and not any(k == b"connection" for k, _ in headers):
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": resp.body})
