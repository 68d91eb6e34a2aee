"""Run a ``Vendor`` on the current event loop: listener up, roster enrolled and issued to the
gates, outbox uploader running — until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Generator

import uvicorn

from vendor.service import Config, Vendor, roster

log = logging.getLogger("jzgr.vendor")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the caller owns the signals (tests, jzgr vendor serve)


@contextlib.asynccontextmanager
async def running(config: Config) -> AsyncIterator[Vendor]:
    """The vendor serving on ``config.listen`` (port 0: a free one, written back to the config)."""
    vendor = Vendor(config)
    server = _Server(
        uvicorn.Config(
            vendor.app,
            host=config.listen[0],
            port=config.listen[1],
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped it (port in use …)
            raise OSError(f"could not listen on {config.listen[0]}:{config.listen[1]}")
        await asyncio.sleep(0.01)
    config.listen = (config.listen[0], int(server.servers[0].sockets[0].getsockname()[1]))
    await vendor.uploader.recover()  # what a previous run left in flight, before anything new
    uploads = asyncio.create_task(vendor.uploader.run())
    try:
        new = vendor.enrol(roster(config))
        log.info("enrolled %d new workers", new)
        vendor.uploader.wake.set()
        if config.provision:
            await vendor.provision_gates()
        yield vendor
    finally:
        await vendor.uploader.stop()
        uploads.cancel()
        await asyncio.gather(uploads, return_exceptions=True)
        server.should_exit = True
        await serving
        await vendor.client.aclose()
        vendor.close()


async def serve(config: Config) -> None:
    async with running(config):
        await asyncio.Event().wait()
