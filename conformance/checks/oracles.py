"""Small oracles shared by the checks: expected code, expected message, expected async status."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import CheckFailed
from conformance.target import Exchange, async_status


def code_of(exchange: Exchange) -> int | None:
    env = exchange.envelope
    return env.code if env is not None else None


def expect_code(exchange: Exchange, code: int, message_has: str | None = None) -> None:
    if exchange.status >= 500 or exchange.status == 0:
        raise CheckFailed(f"expected code {code}, got HTTP {exchange.status}: {exchange.body[:200]}")
    env = exchange.envelope
    if env is None:
        raise CheckFailed(f"expected code {code}, got a body that is not an envelope: {exchange.body[:200]}")
    if env.code != code:
        raise CheckFailed(f"expected code {code}, got {env.code} ({env.message})")
    if message_has is not None and message_has not in env.message:
        raise CheckFailed(f"expected the message to contain {message_has!r}, got {env.message!r}")


def expect_refused(exchange: Exchange, codes: tuple[int, ...] = (-1,), message_has: str | None = None) -> None:
    env = exchange.envelope
    got = env.code if env is not None else None
    if got not in codes:
        raise CheckFailed(f"expected refusal with {codes}, got {got} ({env.message if env else exchange.body[:200]})")
    if message_has is not None and env is not None and message_has not in env.message:
        raise CheckFailed(f"expected the message to contain {message_has!r}, got {env.message!r}")


def expect_async_failure(final: Exchange | None, message_has: str) -> Any:
    status, result = async_status(final)
    if status != 10:
        raise CheckFailed(f"expected async status 10 ({message_has}), got {status}: {result!r}")
    if message_has not in str(result):
        raise CheckFailed(f"expected the async result to contain {message_has!r}, got {result!r}")
    return result


def refused_sync_or_async(first: Exchange, final: Exchange | None, message_has: str) -> None:
    """Some rules may be applied synchronously (-1) or through async status 10: accept either."""
    env = first.envelope
    if env is not None and env.code == -1:
        if message_has not in env.message:
            raise CheckFailed(f"refused with -1 but the message lacks {message_has!r}: {env.message!r}")
        return
    expect_async_failure(final, message_has)
