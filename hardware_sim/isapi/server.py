"""Many virtual ISAPI devices behind one ASGI app in one process.

Each device has its own listening socket (a vendor addresses a device by IP and port, exactly as on
site); all sockets feed one :class:`~hardware_sim.isapi.app.IsapiApp`, which picks the device by the
local address the connection arrived on (``scope["server"]``). The HTTP/1.1 parsing is uvicorn's
httptools protocol, started socket by socket with ``loop.create_server`` — what ``uvicorn.Server``
does for ``serve(sockets=[...])`` — so devices can be added and removed while the fleet runs.

The protocol subclass adds the one thing ASGI cannot express: an offline device resets connections
instead of answering.
"""

from __future__ import annotations

import asyncio
import socket
import weakref
from typing import TYPE_CHECKING, Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from hardware_sim.isapi.app import IsapiApp

if TYPE_CHECKING:
    from hardware_sim.isapi.device import IsapiDevice


class _DeviceProtocol(HttpToolsProtocol):
    registry: ClassVar[IsapiServer]

    def _device(self) -> IsapiDevice | None:
        server = self.server
        if server is None:
            return None
        return self.registry.lookup(server[0], server[1] or 0)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        device = self._device()
        if device is None or not device.online:
            transport.abort()
            return
        self.registry.track(device, self)

    def data_received(self, data: bytes) -> None:
        device = self._device()
        if device is None or not device.online:
            self.transport.abort()
            return
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.registry.untrack(self)
        super().connection_lost(exc)


class IsapiServer:
    """One app, one uvicorn config, any number of device sockets."""

    _shared: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, IsapiServer]] = weakref.WeakKeyDictionary()

    def __init__(self, *, keep_alive: int = 10) -> None:
        registry = self
        protocol = type("DeviceProtocol", (_DeviceProtocol,), {"registry": registry})
        self.app = IsapiApp(self)
        self.config = uvicorn.Config(
            self.app,
            http=protocol,
            lifespan="off",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            date_header=False,
            timeout_keep_alive=keep_alive,
            ws="none",
        )
        self.config.load()
        self.state = ServerState()
        self.state.default_headers = []
        self._by_addr: dict[tuple[str, int], IsapiDevice] = {}
        self._by_port: dict[int, IsapiDevice] = {}
        self._listeners: dict[str, asyncio.Server] = {}
        self._conns: dict[str, set[HttpToolsProtocol]] = {}
        self._conn_owner: dict[HttpToolsProtocol, str] = {}

    @classmethod
    def shared(cls) -> IsapiServer:
        """The server of the running event loop (created on first use)."""
        loop = asyncio.get_running_loop()
        server = cls._shared.get(loop)
        if server is None:
            server = cls._shared[loop] = cls()
        return server

    # -- devices ---------------------------------------------------------------------------------
    async def add(self, device: IsapiDevice, host: str, port: int) -> int:
        sock = bind_socket(host, port)
        bound = int(sock.getsockname()[1])
        loop = asyncio.get_running_loop()
        app_state: dict[str, Any] = {}

        def factory() -> asyncio.Protocol:
            return self.config.http_protocol_class(  # type: ignore[call-arg]
                config=self.config, server_state=self.state, app_state=app_state, _loop=loop
            )

        listener = await loop.create_server(factory, sock=sock, backlog=128)
        if host in ("", "0.0.0.0", "::"):
            self._by_port[bound] = device
        else:
            self._by_addr[(host, bound)] = device
        self._listeners[device.device_id] = listener
        self._conns[device.device_id] = set()
        return bound

    async def remove(self, device: IsapiDevice) -> None:
        listener = self._listeners.pop(device.device_id, None)
        self.drop_connections(device)
        self._conns.pop(device.device_id, None)
        for key, dev in list(self._by_addr.items()):
            if dev is device:
                del self._by_addr[key]
        for port, dev in list(self._by_port.items()):
            if dev is device:
                del self._by_port[port]
        if listener is not None:
            listener.close()
            await listener.wait_closed()

    def lookup(self, host: str, port: int) -> IsapiDevice | None:
        return self._by_addr.get((host, port)) or self._by_port.get(port)

    @property
    def devices(self) -> list[IsapiDevice]:
        return [*self._by_addr.values(), *self._by_port.values()]

    # -- connections -----------------------------------------------------------------------------
    def track(self, device: IsapiDevice, conn: HttpToolsProtocol) -> None:
        conns = self._conns.get(device.device_id)
        if conns is not None:
            conns.add(conn)
            self._conn_owner[conn] = device.device_id

    def untrack(self, conn: HttpToolsProtocol) -> None:
        owner = self._conn_owner.pop(conn, None)
        if owner is not None:
            self._conns.get(owner, set()).discard(conn)

    def drop_connections(self, device: IsapiDevice) -> None:
        """Reset every connection a vendor holds open to ``device`` (power cut, cable pulled)."""
        for conn in list(self._conns.get(device.device_id, ())):
            if conn.transport is not None:
                conn.transport.abort()


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY only then
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock
