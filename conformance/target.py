"""The platform under test as the checks see it: credentials, a raw sender that can also break
requests on purpose, the async poller, and the exchanges recorded as evidence."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from platform_client import credentials
from platform_client.credentials import CredentialsError, TenantCredentials
from standard import envelope, methods, payload, signature
from standard.envelope import BEIJING, AsyncStatus, Envelope
from standard.profile import STRICT, Profile

Tenant = TenantCredentials  # what the checks call an entry of the credentials file


def load_credentials(path: Path) -> tuple[str, list[Tenant]]:
    """The platform URL and the tenants of a credentials file (``platform_client.credentials``);
    CredentialsError when it is not one or lists no tenant."""
    found = credentials.load(path)
    if not found.tenants:
        raise CredentialsError(
            f'{path} has no "tenants" list; it must be {credentials.SHAPE}', reason='no "tenants" list'
        )
    return found.url, list(found.tenants)


@dataclass
class Exchange:
    """One request and its answer, kept as evidence (the secret never appears in it)."""

    method: str
    form: dict[str, str]
    status: int
    body: str
    elapsed_ms: float
    note: str = ""

    @property
    def envelope(self) -> Envelope | None:
        try:
            return Envelope.from_json(json.loads(self.body))
        except ValueError:
            return None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "form": self.form,
            "status": self.status,
            "body": self.body[:4000],
            "elapsed_ms": round(self.elapsed_ms, 1),
            "note": self.note,
        }


@dataclass
class Target:
    url: str
    tenant: Tenant
    other: Tenant | None = None  # a second tenant, for isolation checks
    profile: Profile = STRICT
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))
    poll_interval: float = 0.2
    poll_timeout: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = envelope.now_beijing  # the one "now" of a run: aware, any zone
    exchanges: list[Exchange] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)  # shared setup (team, workers) across checks

    def now(self) -> datetime:
        """Beijing wall time (naive), the platform's "today" whatever zone this machine is set to."""
        return self.clock().astimezone(BEIJING).replace(tzinfo=None)

    # ---- building -----------------------------------------------------------------------

    def params(
        self,
        method: str,
        data: Any,
        *,
        tenant: Tenant | None = None,
        encrypt: bool = True,
        timestamp: str | None = None,
        nonce: str | None = None,
        with_corpsign: bool | None = None,
    ) -> dict[str, str]:
        """Signed form parameters; plaintext ``data`` has its marked fields encrypted first."""
        who = tenant or self.tenant
        spec = methods.get(method)
        if encrypt and spec is not None and isinstance(data, dict):
            data = payload.encrypt(spec.request, data, who.appsecret)
        corp = who.corpKey if (with_corpsign is None or with_corpsign) else None
        timestamp = timestamp or envelope.format_timestamp(self.clock())
        return envelope.build_request(
            method, data, appid=who.appid, secret=who.appsecret, corp_key=corp, timestamp=timestamp, nonce=nonce
        )

    @staticmethod
    def resign(params: Mapping[str, str], secret: str) -> dict[str, str]:
        out = {k: v for k, v in params.items() if k != "sign"}
        out["sign"] = signature.compute_sign(out, secret)
        return out

    # ---- sending ------------------------------------------------------------------------

    def post(self, form: Mapping[str, str] | str | bytes, *, note: str = "", path: str = "") -> Exchange:
        body = form if isinstance(form, str | bytes) else urlencode(form)
        shown = dict(form) if isinstance(form, Mapping) else {"<raw body>": str(body)[:500]}
        url = self.url.rstrip("/") + (path or "")
        started = time.perf_counter()
        try:
            response = self.client.post(
                url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
            )
            status, text = response.status_code, response.text
        except httpx.HTTPError as exc:
            status, text = 0, f"<transport error: {type(exc).__name__}: {exc}>"
        exchange = Exchange(shown.get("method", "?"), shown, status, text, (time.perf_counter() - started) * 1000, note)
        self.exchanges.append(exchange)
        return exchange

    def call(self, method: str, data: Any, *, note: str = "", **kw: Any) -> Exchange:
        return self.post(self.params(method, data, **kw), note=note)

    def wait(self, serial: str, *, tenant: Tenant | None = None) -> Exchange:
        """Poll AsyncHandleResult.Query until the status is final (or the poll timeout)."""
        deadline = time.monotonic() + self.poll_timeout
        while True:
            exchange = self.call("AsyncHandleResult.Query", {"requestSerialCode": serial}, tenant=tenant, note="poll")
            env = exchange.envelope
            status = env.data.get("status") if env and isinstance(env.data, dict) else None
            if status is not None and int(status) != AsyncStatus.PENDING:
                return exchange
            if time.monotonic() > deadline or env is None or env.code != 0:
                return exchange
            self.sleep(self.poll_interval)

    def write(self, method: str, data: Any, **kw: Any) -> tuple[Exchange, Exchange | None]:
        """Send a write; when accepted, wait for its async result."""
        first = self.call(method, data, **kw)
        env = first.envelope
        if env is None or env.code != 0 or not isinstance(env.data, dict):
            return first, None
        return first, self.wait(str(env.data.get("requestSerialCode")), tenant=kw.get("tenant"))


def async_status(exchange: Exchange | None) -> tuple[int | None, Any]:
    """(status, result) of a final AsyncHandleResult exchange; result JSON-decoded when a string."""
    if exchange is None or exchange.envelope is None or not isinstance(exchange.envelope.data, dict):
        return None, None
    data = exchange.envelope.data
    result = data.get("result")
    if isinstance(result, str):
        try:
            result = json.loads(result)
        except ValueError:
            pass
    status = data.get("status")
    return (int(status) if status is not None else None), result
