"""Typed errors: each carries what the caller needs to act (the platform's code and message, the
serial code of a failed async write, the field errors of a payload refused before sending)."""

from __future__ import annotations

from collections.abc import Sequence

from standard.envelope import Code
from standard.errors import FieldError, render


class ClientError(Exception):
    """Base of every error the client raises."""


class PlatformError(ClientError):
    """The platform answered with a non-zero code."""

    code: int = 0

    def __init__(self, code: int, message: str, method: str = "") -> None:
        super().__init__(f"{method}: code {code}: {message}" if method else f"code {code}: {message}")
        self.code = code
        self.message = message
        self.method = method


class BadParameter(PlatformError):
    """-1 请求参数错误: never retried."""


class BadSignature(PlatformError):
    """-2 签名校验错误: never retried."""


class NoPermission(PlatformError):
    """-3 无API访问权限: never retried."""


class IpRejected(PlatformError):
    """-4 IP校验错误: never retried."""


class RateLimited(PlatformError):
    """-5 访问超过限制: retried with backoff until the deadline."""


_BY_CODE: dict[int, type[PlatformError]] = {
    Code.BAD_PARAMETER: BadParameter,
    Code.BAD_SIGNATURE: BadSignature,
    Code.NO_PERMISSION: NoPermission,
    Code.BAD_IP: IpRejected,
    Code.RATE_LIMITED: RateLimited,
}


def platform_error(code: int, message: str, method: str = "") -> PlatformError:
    return _BY_CODE.get(code, PlatformError)(code, message, method)


class TransportFailed(ClientError):
    """The request did not get an answer (connection refused or reset, timeout, HTTP 5xx)."""


class ProtocolError(ClientError):
    """The answer is not a platform envelope (HTML error page, truncated JSON, …)."""


class DeadlineExceeded(ClientError, TimeoutError):
    """The overall deadline passed before a final answer; ``last`` is the last error seen."""

    def __init__(self, message: str, last: BaseException | None = None) -> None:
        super().__init__(message)
        self.last = last


class AsyncFailed(ClientError):
    """``AsyncHandleResult.Query`` reported status 10; ``message`` is the platform's result text."""

    def __init__(self, serial: str, message: str, method: str = "") -> None:
        super().__init__(f"{method or serial} failed: {message}")
        self.serial = serial
        self.message = message
        self.method = method


class ValidationFailed(ClientError):
    """The payload breaks the data standard; it was not sent."""

    def __init__(self, method: str, errors: Sequence[FieldError]) -> None:
        super().__init__(f"{method}: {render(errors)}")
        self.method = method
        self.errors = list(errors)
