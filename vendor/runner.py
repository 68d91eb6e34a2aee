"""Run the reference vendor on the current event loop: one listener for its sites, and per site
the roster enrolled and issued to the gates and the outbox uploader running — until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Generator, Sequence

import uvicorn

from vendor.listener import Listener
from vendor.service import Config, Vendor, roster

log = logging.getLogger("jzgr.vendor")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the caller owns the signals (tests, jzgr vendor serve)


@contextlib.asynccontextmanager
async def running(config: Config) -> AsyncIterator[Vendor]:
    """The vendor of one site serving on ``config.listen`` (port 0: a free one, written back)."""
    async with hosting([config]) as listener:
        yield listener.vendors[0]


@contextlib.asynccontextmanager
async def hosting(configs: Sequence[Config]) -> AsyncIterator[Listener]:
    """The vendor serving every site of ``configs`` on the first one's ``listen`` (one port for
    all; port 0: a free one, written back to every config)."""
    vendors: list[Vendor] = []
    try:
        for config in configs:
            vendors.append(Vendor(config))
        listener = Listener(vendors)
    except BaseException:
        for v in vendors:
            v.close()
        raise
    listen = configs[0].listen
    server = _Server(
        uvicorn.Config(
            listener.app,
            host=listen[0],
            port=listen[1],
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
    )
    serving = asyncio.create_task(server.serve())
    uploads: list[asyncio.Task[None]] = []
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped it (port in use …)
                raise OSError(f"could not listen on {listen[0]}:{listen[1]}")
            await asyncio.sleep(0.01)
        bound = (listen[0], int(server.servers[0].sockets[0].getsockname()[1]))
        for config in configs:
            config.listen = bound
        for vendor in vendors:
            await vendor.uploader.recover()  # what a previous run left in flight, before anything new
            uploads.append(asyncio.create_task(vendor.uploader.run()))
        for vendor in vendors:
            new = vendor.enrol(roster(vendor.config))
            log.info("%s: enrolled %d new workers", vendor.config.tenant.project_code, new)
            vendor.uploader.wake.set()
        for vendor in vendors:
            if vendor.config.provision:
                await vendor.provision_gates()
        yield listener
    finally:
        for vendor in vendors:
            await vendor.uploader.stop()
        for task in uploads:
            task.cancel()
        await asyncio.gather(*uploads, return_exceptions=True)
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        for vendor in vendors:
            await vendor.client.aclose()
            vendor.close()


async def serve(configs: Sequence[Config]) -> None:
    async with hosting(configs):
        await asyncio.Event().wait()
