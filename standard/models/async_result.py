"""``AsyncHandleResult.Query`` and Hangzhou's ``CheckSign.Query`` (§6, §8.11)."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from standard import envelope
from standard.fields import Str
from standard.models.base import WireModel


class AsyncHandleResultQuery(WireModel):
    requestSerialCode: Annotated[Str, Field(pattern=envelope.SERIAL_RE.pattern)]


class AsyncHandleResult(BaseModel):
    """Response ``data``: ``{requestSerialCode, status, result}``."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    requestSerialCode: str
    status: int
    result: Any = None


class CheckSignQuery(WireModel):
    """``data = {}``."""
