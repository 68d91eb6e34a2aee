"""Entry/exit (进退场): ``WorkerEntryExit.Add/Query`` (§8.6, data.md §3.8)."""

from typing import Annotated

from pydantic import Field

from standard.fields import (
    ENCRYPTED,
    CorpCode,
    CorpName,
    Str,
    TeamSysNo,
    code,
    id_number,
    image,
    int_code,
    not_future_date,
)
from standard.models.base import QueryRequest, Row, WireModel

ENTRY_EXIT_LIMIT = 50


class EntryExitItem(WireModel):
    idCardType: Annotated[Str, code("idCardType")]
    idCardNumber: Annotated[Str, ENCRYPTED, id_number("idCardType")]
    date: Annotated[Str, not_future_date()]
    type: Annotated[int, int_code("entryExitType")]
    voucher: Annotated[Str, image(50)] | None = None  # required per XN, optional per WEDS/GD


class WorkerEntryExitAdd(WireModel):
    projectCode: Str
    corpCode: CorpCode
    corpName: CorpName
    teamSysNo: TeamSysNo
    workerList: Annotated[list[EntryExitItem], Field(min_length=1, max_length=ENTRY_EXIT_LIMIT)]


class WorkerEntryExitQuery(QueryRequest):
    projectCode: Str | None = None
    corpCode: Str | None = None
    corpName: Str | None = None
    teamSysNo: TeamSysNo | None = None
    idCardType: Str | None = None
    idCardNumber: Annotated[Str, ENCRYPTED] | None = None


class EntryExitRow(Row):
    idCardNumber: Annotated[str, ENCRYPTED] | None = None
