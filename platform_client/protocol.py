"""The client's logic without I/O: preparing signed forms, reading answers, and the retry and
polling loops as generators that yield ``Send``/``Sleep`` actions. The sync and async clients
only execute those actions, so both behave identically by construction."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from platform_client.errors import (
    AsyncFailed,
    DeadlineExceeded,
    PlatformError,
    ProtocolError,
    RateLimited,
    TransportFailed,
    ValidationFailed,
    platform_error,
)
from platform_client.policy import PollPolicy, RetryPolicy
from standard import envelope, errors, methods, payload
from standard.envelope import AsyncStatus, Envelope
from standard.profile import STRICT, Profile

CLOCK_SKEW_S = 300.0  # how far ahead of this host a date may lie before local validation refuses it


@dataclass(frozen=True)
class Credentials:
    appid: str
    secret: str
    corp_key: str | None = None  # sends corpsign when set (enterprise keys)


@dataclass(frozen=True)
class Send:
    form: dict[str, str]


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Answer:
    """What a driver hands back for a ``Send``: an HTTP answer, or the transport error."""

    status: int = 0
    body: bytes = b""
    error: Exception | None = None


Action = Send | Sleep
Plan = Generator[Action, Answer | None, Any]


@dataclass(frozen=True)
class WriteResult:
    method: str
    serial: str
    status: int | None  # 20 when waited for, None when not
    result: Any


def spec_of(method: str) -> methods.Method | None:
    return methods.get(method)


def seal(
    method: str,
    data: Any,
    secret: str,
    *,
    validate: bool = True,
    profile: Profile = STRICT,
    now: datetime | None = None,
) -> str:
    """Validate plaintext data (optionally), encrypt its marked fields, serialise it once.
    ``now`` is the moment dates are judged against ("not in the future"); by default this host's."""
    spec = spec_of(method)
    if isinstance(data, str):
        return data  # already the wire text: sent as is
    if spec is not None and isinstance(data, dict):
        if validate:
            raw = spec.normalise(data) if spec.normalise else data
            try:
                payload.validate(spec.request, raw, profile=profile, now=now)
            except errors.PayloadInvalid as exc:
                raise ValidationFailed(method, exc.errors) from None
        data = payload.encrypt(spec.request, data, secret)
    return envelope.dump_data(data)


def form_for(creds: Credentials, method: str, data_text: str) -> dict[str, str]:
    """A freshly signed form: new timestamp and nonce on every attempt (replays may be refused)."""
    return envelope.build_request(method, data_text, appid=creds.appid, secret=creds.secret, corp_key=creds.corp_key)


def read(method: str, answer: Answer) -> Envelope:
    """Turn an answer into an envelope, or raise the typed error it means."""
    if answer.error is not None:
        raise TransportFailed(f"{method}: {type(answer.error).__name__}: {answer.error}") from answer.error
    if answer.status >= 500:
        raise TransportFailed(f"{method}: HTTP {answer.status}")
    try:
        env = Envelope.from_json(json.loads(answer.body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{method}: HTTP {answer.status}, not a platform envelope: {answer.body[:200]!r}") from exc
    if env.code != 0:
        raise platform_error(env.code, env.message, method)
    return env


def call_plan(creds: Credentials, method: str, data_text: str, retry: RetryPolicy, clock: Callable[[], float]) -> Plan:
    """Send until a final answer: retry transport errors, 5xx and -5; never -1…-4."""
    deadline = clock() + retry.deadline
    attempt = 0
    while True:
        answer = yield Send(form_for(creds, method, data_text))
        assert answer is not None
        try:
            return read(method, answer)
        except (TransportFailed, RateLimited) as exc:
            last: Exception = exc
        delay = retry.delay(attempt)
        if clock() + delay > deadline:
            raise DeadlineExceeded(f"{method}: no final answer within {retry.deadline:g} s: {last}", last)
        attempt += 1
        yield Sleep(delay)


def parse_result(result: Any) -> Any:
    """``result`` may be a JSON-encoded string (strict reading) or a JSON value (lenient)."""
    if isinstance(result, str):
        try:
            return json.loads(result)
        except ValueError:
            return result
    return result


def poll_plan(
    creds: Credentials, serial: str, method: str, poll: PollPolicy, retry: RetryPolicy, clock: Callable[[], float]
) -> Plan:
    """Poll ``AsyncHandleResult.Query`` with backoff until status 20 (return result) or 10 (raise)."""
    deadline = clock() + poll.deadline
    text = envelope.dump_data({"requestSerialCode": serial})
    attempt = 0
    yield Sleep(poll.first_delay)
    while True:
        env = yield from call_plan(creds, "AsyncHandleResult.Query", text, retry, clock)
        data = env.data if isinstance(env.data, dict) else {}
        try:
            status = int(data.get("status"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ProtocolError(f"AsyncHandleResult.Query: no status in {data!r}") from None
        if status == AsyncStatus.SUCCEEDED:
            return parse_result(data.get("result"))
        if status == AsyncStatus.FAILED:
            raise AsyncFailed(serial, str(data.get("result") or ""), method)
        attempt += 1
        delay = poll.interval(attempt)
        if clock() + delay > deadline:
            raise DeadlineExceeded(f"{method}: async result of {serial} still pending after {poll.deadline:g} s")
        yield Sleep(delay)


def write_plan(
    creds: Credentials,
    method: str,
    data_text: str,
    *,
    wait: bool,
    poll: PollPolicy,
    retry: RetryPolicy,
    clock: Callable[[], float],
) -> Plan:
    env = yield from call_plan(creds, method, data_text, retry, clock)
    serial = env.data.get("requestSerialCode") if isinstance(env.data, dict) else None
    if not isinstance(serial, str) or not serial:
        raise ProtocolError(f"{method}: accepted without a requestSerialCode: {env.data!r}")
    if not wait:
        return WriteResult(method, serial, None, None)
    result = yield from poll_plan(creds, serial, method, poll, retry, clock)
    return WriteResult(method, serial, int(AsyncStatus.SUCCEEDED), result)


def batches(method: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Split the method's list (workerList, dataList, …) to its batch limit."""
    spec = spec_of(method)
    if spec is None or spec.list_field is None or spec.list_limit is None:
        return [data]
    items = data.get(spec.list_field)
    if not isinstance(items, list) or len(items) <= spec.list_limit:
        return [data]
    size = spec.list_limit
    return [{**data, spec.list_field: items[i : i + size]} for i in range(0, len(items), size)]


def decrypt_rows(method: str, rows: list[Any], secret: str, profile: Profile = STRICT) -> list[Any]:
    """Decrypt the encrypted fields of query rows; a value that does not decrypt is kept as sent."""
    spec = spec_of(method)
    if spec is None or spec.row is None:
        return rows
    return [payload.decrypt(spec.row, row, secret, profile=profile)[0] for row in rows]


def page_of(env: Envelope, method: str) -> dict[str, Any]:
    if not isinstance(env.data, dict) or not isinstance(env.data.get("rows"), list):
        raise ProtocolError(f"{method}: query answer has no rows: {str(env.data)[:200]}")
    return env.data


class ClientCore:
    """State and plan builders shared by the sync and async clients (they only execute plans)."""

    def __init__(
        self,
        url: str,
        appid: str,
        secret: str,
        corp_key: str | None,
        retry: RetryPolicy | None,
        poll: PollPolicy | None,
        validate: bool,
        profile: Profile,
        clock: Callable[[], float],
    ) -> None:
        self.url = url
        self.creds = Credentials(appid, secret, corp_key)
        self.retry = retry or RetryPolicy()
        self.poll = poll or PollPolicy()
        self.validate = validate
        self.profile = profile
        self.clock = clock

    # Local validation judges "not in the future" against this host's clock plus this margin: the
    # platform's clock decides, and a gate or host a little ahead of it is not a reason to refuse
    # here what the platform may accept (set it to 0 for the platform's exact rule).
    clock_skew_s: float = CLOCK_SKEW_S

    def seal(self, method: str, data: Any) -> str:
        now = (envelope.now_beijing() + timedelta(seconds=self.clock_skew_s)).replace(tzinfo=None)
        return seal(method, data, self.creds.secret, validate=self.validate, profile=self.profile, now=now)

    def call_plan(self, method: str, data: Any) -> Plan:
        return call_plan(self.creds, method, self.seal(method, data), self.retry, self.clock)

    def write_plan(self, method: str, data: Any, wait: bool) -> Plan:
        return write_plan(
            self.creds, method, self.seal(method, data), wait=wait, poll=self.poll, retry=self.retry, clock=self.clock
        )

    def poll_plan(self, serial: str, method: str) -> Plan:
        return poll_plan(self.creds, serial, method, self.poll, self.retry, self.clock)

    def page(self, method: str, env: Envelope) -> dict[str, Any]:
        page = page_of(env, method)
        return {**page, "rows": decrypt_rows(method, page["rows"], self.creds.secret, self.profile)}


__all__ = ["PlatformError"]
