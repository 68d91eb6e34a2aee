"""The synchronous reference client: executes the protocol plans over an ``httpx.Client``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from platform_client import protocol
from platform_client.policy import PollPolicy, RetryPolicy
from platform_client.protocol import Answer, ClientCore, Plan, Send, WriteResult
from standard.envelope import Envelope
from standard.profile import STRICT, Profile

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}


class PlatformClient(ClientCore):
    """``PlatformClient(url, appid, secret)``; pass ``transport=httpx.ASGITransport(app)`` (or
    ``httpx.MockTransport``) to talk to an in-process platform, or ``http=`` a configured client."""

    def __init__(
        self,
        url: str,
        appid: str,
        secret: str,
        *,
        corp_key: str | None = None,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        validate: bool = True,
        profile: Profile = STRICT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(url, appid, secret, corp_key, retry, poll, validate, profile, clock)
        self.http = http or httpx.Client(transport=transport, timeout=timeout)
        self._owns_http = http is None
        self.sleep = sleep

    # ---- driver -------------------------------------------------------------------------

    def _send(self, form: dict[str, str]) -> Answer:
        try:
            response = self.http.post(self.url, data=form, headers=FORM)
            return Answer(response.status_code, response.content)
        except httpx.HTTPError as exc:
            return Answer(error=exc)

    def _run(self, plan: Plan) -> Any:
        try:
            action = next(plan)
            while True:
                if isinstance(action, Send):
                    action = plan.send(self._send(action.form))
                else:
                    self.sleep(action.seconds)
                    action = plan.send(None)
        except StopIteration as done:
            return done.value

    # ---- API ----------------------------------------------------------------------------

    def call(self, method: str, data: Any) -> Envelope:
        """One logical call (retried as the policy allows); returns the code-0 envelope."""
        result: Envelope = self._run(self.call_plan(method, data))
        return result

    def write(self, method: str, data: Any, *, wait: bool = True) -> WriteResult:
        """Send one write (no splitting); wait for its async result unless ``wait=False``."""
        result: WriteResult = self._run(self.write_plan(method, data, wait))
        return result

    def upload(self, method: str, data: dict[str, Any], *, wait: bool = True) -> list[WriteResult]:
        """Split the payload to the method's batch limit and write each batch in order."""
        return [self.write(method, batch, wait=wait) for batch in protocol.batches(method, data)]

    def wait(self, serial: str, method: str = "") -> Any:
        """Poll the async result of ``serial``: the result on status 20, AsyncFailed on 10."""
        return self._run(self.poll_plan(serial, method))

    def query(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        """One page; rows come back with their encrypted fields decrypted."""
        return self.page(method, self.call(method, data))

    def query_all(self, method: str, filters: dict[str, Any], page_size: int = 50) -> Iterator[dict[str, Any]]:
        """Every row, page by page (0-based pageIndex)."""
        index = 0
        while True:
            page = self.query(method, {**filters, "pageIndex": index, "pageSize": page_size})
            yield from page["rows"]
            index += 1
            if not page["rows"] or index * page_size >= int(page.get("totalCount") or 0):
                return

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
