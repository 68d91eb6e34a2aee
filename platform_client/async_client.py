"""The asynchronous reference client: the same protocol plans over an ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from platform_client import protocol
from platform_client.client import FORM
from platform_client.policy import PollPolicy, RetryPolicy
from platform_client.protocol import Answer, ClientCore, Plan, Send, WriteResult
from standard.envelope import Envelope
from standard.profile import STRICT, Profile


class AsyncPlatformClient(ClientCore):
    """Async twin of ``PlatformClient`` (same arguments; ``sleep`` is a coroutine function)."""

    def __init__(
        self,
        url: str,
        appid: str,
        secret: str,
        *,
        corp_key: str | None = None,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        validate: bool = True,
        profile: Profile = STRICT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(url, appid, secret, corp_key, retry, poll, validate, profile, clock)
        self.http = http or httpx.AsyncClient(transport=transport, timeout=timeout)
        self._owns_http = http is None
        self.sleep = sleep

    async def _send(self, form: dict[str, str]) -> Answer:
        try:
            response = await self.http.post(self.url, data=form, headers=FORM)
            return Answer(response.status_code, response.content)
        except httpx.HTTPError as exc:
            return Answer(error=exc)

    async def _run(self, plan: Plan) -> Any:
        try:
            action = next(plan)
            while True:
                if isinstance(action, Send):
                    action = plan.send(await self._send(action.form))
                else:
                    await self.sleep(action.seconds)
                    action = plan.send(None)
        except StopIteration as done:
            return done.value

    async def call(self, method: str, data: Any) -> Envelope:
        result: Envelope = await self._run(self.call_plan(method, data))
        return result

    async def write(self, method: str, data: Any, *, wait: bool = True) -> WriteResult:
        result: WriteResult = await self._run(self.write_plan(method, data, wait))
        return result

    async def upload(self, method: str, data: dict[str, Any], *, wait: bool = True) -> list[WriteResult]:
        return [await self.write(method, batch, wait=wait) for batch in protocol.batches(method, data)]

    async def wait(self, serial: str, method: str = "") -> Any:
        return await self._run(self.poll_plan(serial, method))

    async def query(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        return self.page(method, await self.call(method, data))

    async def query_all(
        self, method: str, filters: dict[str, Any], page_size: int = 50
    ) -> AsyncIterator[dict[str, Any]]:
        index = 0
        while True:
            page = await self.query(method, {**filters, "pageIndex": index, "pageSize": page_size})
            for row in page["rows"]:
                yield row
            index += 1
            if not page["rows"] or index * page_size >= int(page.get("totalCount") or 0):
                return

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def __aenter__(self) -> AsyncPlatformClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
