"""Labour contracts (劳动合同): ``WorkerContract.Add/Query`` (§8.7, data.md §3.9)."""

from typing import Annotated, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from standard import formats
from standard.fields import (
    ENCRYPTED,
    Amount,
    CorpCode,
    CorpName,
    DateStr,
    Str,
    code,
    id_number,
    int_code,
)
from standard.models.base import Attachment, QueryRequest, Row, WireModel

CONTRACT_LIST_LIMIT = 5


class ContractItem(WireModel):
    corpCode: CorpCode
    corpName: CorpName
    idCardType: Annotated[Str, code("idCardType")]
    idCardNumber: Annotated[Str, ENCRYPTED, id_number("idCardType")]
    contractPeriodType: Annotated[int, int_code("contractPeriodType")]
    startDate: DateStr
    endDate: DateStr
    unit: Annotated[int, int_code("unit")] | None = None
    unitPrice: Amount | None = None
    attachments: Annotated[list[Attachment], Field(max_length=2)] | None = None

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if formats.parse_date(self.endDate) < formats.parse_date(self.startDate):
            raise PydanticCustomError(
                "jzgr", "{text}", {"kind": "range", "text": "不能小于开始日期!", "field": "endDate"}
            )
        return self


class WorkerContractAdd(WireModel):
    projectCode: Str
    contractList: Annotated[list[ContractItem], Field(min_length=1, max_length=CONTRACT_LIST_LIMIT)]


class WorkerContractQuery(QueryRequest):
    projectCode: Str | None = None
    corpCode: Str | None = None
    corpName: Str | None = None
    idCardType: Str | None = None
    idCardNumber: Annotated[Str, ENCRYPTED] | None = None


class ContractRow(Row):
    idCardNumber: Annotated[str, ENCRYPTED] | None = None
