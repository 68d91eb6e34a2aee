"""The device's side of listening mode: one keep-alive HTTP/1.1 connection to the listening host,
requests sent serially, as a real terminal does (devices.md §8 "Morning peak").

Why not httpx: a fleet runs thousands of devices in one process and one core; an ``httpx.AsyncClient``
per device costs milliseconds of Python per request and hundreds of KB per client. This is a bare
``asyncio.Protocol`` that writes one pre-rendered request and lets httptools' C parser read the
answer: a few tens of microseconds per event, one socket per device, a read timeout per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from email.utils import formatdate

import httptools


class PushError(ConnectionError):
    pass


class _Conn(asyncio.Protocol):
    __slots__ = ("_keep", "_waiter", "closed", "parser", "responses", "status", "transport")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[int] | None = None
        self.status = 0
        self._keep = True
        self.closed = False
        self.responses = 0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(PushError(f"bad HTTP answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.status:  # an answer without a length, delimited by the close
            self._finish(self.status)
        else:
            self._finish(PushError(f"connection closed by the host ({exc or 'EOF'})"))

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self._keep = bool(self.parser.should_keep_alive())

    def on_message_complete(self) -> None:
        self.responses += 1
        status = self.status or self.parser.get_status_code()
        if not self._keep:
            self.close()
        self._finish(status)

    def _finish(self, result: int | Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            return
        if isinstance(result, Exception):
            waiter.set_exception(result)
        else:
            waiter.set_result(result)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    async def exchange(self, request: bytes, timeout: float) -> int:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[int] = loop.create_future()
        self._waiter = waiter
        self.status = 0
        self.transport.write(request)
        timer = loop.call_later(timeout, self._timed_out, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    def _timed_out(self, waiter: asyncio.Future[int]) -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError("no answer from the listening host in time"))
            self.abort()


_UNVERIFIED: ssl.SSLContext | None = None


def _client_tls() -> ssl.SSLContext:
    """Devices do not verify the listening host's certificate."""
    global _UNVERIFIED
    if _UNVERIFIED is None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        _UNVERIFIED = ctx
    return _UNVERIFIED


class Pusher:
    """POSTs to one listening host over a reused connection."""

    def __init__(self, host: str, port: int, *, tls: bool = False, timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.timeout = timeout
        self.host_header = f"{host}:{port}".encode()
        self._conn: _Conn | None = None
        self.connects = 0

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        ssl_ctx = _client_tls() if self.tls else None
        _, conn = await asyncio.wait_for(
            loop.create_connection(_Conn, self.host, self.port, ssl=ssl_ctx), timeout=self.timeout
        )
        self.connects += 1
        return conn

    def request(self, path: str, content_type: str, body: bytes, *, date: float | None = None) -> bytes:
        head = (
            f"POST {path} HTTP/1.1\r\n"
            f"Host: {self.host_header.decode()}\r\n"
            "Connection: keep-alive\r\n"
            "Accept-Language: zh-CN\r\n"
            f"Date: {formatdate(date, usegmt=True)}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        return head + body

    async def post(self, request: bytes) -> int:
        """Send one rendered request; the HTTP status of the answer. Raises on connection trouble or timeout."""
        conn = self._conn
        reused = conn is not None and not conn.closed
        if conn is None or conn.closed:
            conn = self._conn = await self._connect()
        try:
            return await conn.exchange(request, self.timeout)
        except PushError:
            self._conn = None
            if not reused:
                raise
        # the host had closed the idle keep-alive connection under us: one retry on a fresh one
        conn = self._conn = await self._connect()
        try:
            return await conn.exchange(request, self.timeout)
        except BaseException:
            self._drop()
            raise

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.abort()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def abort(self) -> None:
        self._drop()
