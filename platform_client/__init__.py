"""The reference client of the platform's ``open.api``: signs, encrypts, splits batches, retries
what may be retried and polls asynchronous results — sync and async, over any httpx transport."""

from platform_client.async_client import AsyncPlatformClient
from platform_client.client import PlatformClient
from platform_client.errors import (
    AsyncFailed,
    BadParameter,
    BadSignature,
    ClientError,
    DeadlineExceeded,
    IpRejected,
    NoPermission,
    PlatformError,
    ProtocolError,
    RateLimited,
    TransportFailed,
    ValidationFailed,
)
from platform_client.policy import PollPolicy, RetryPolicy

__all__ = [
    "AsyncFailed",
    "AsyncPlatformClient",
    "BadParameter",
    "BadSignature",
    "ClientError",
    "DeadlineExceeded",
    "IpRejected",
    "NoPermission",
    "PlatformClient",
    "PlatformError",
    "PollPolicy",
    "ProtocolError",
    "RateLimited",
    "RetryPolicy",
    "TransportFailed",
    "ValidationFailed",
]
