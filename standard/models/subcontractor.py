"""Participating companies (参建单位): ``ProjectSubContractor.Add/Update/Query`` (§8.3, data.md §3.4)."""

from typing import Annotated

from standard.fields import (
    ENCRYPTED,
    CnapsCode,
    CorpCode,
    CorpName,
    DateOrDateTime,
    EnterpriseAccount,
    Mobile,
    Name,
    Str,
    SubcontractorExitTime,
    code,
    id_number,
)
from standard.models.base import QueryRequest, Row, WireModel


class BankInfo(WireModel):
    bankCode: Annotated[Str, code("bankCode")]
    bankName: CorpName
    bankNumber: EnterpriseAccount
    bankLinkNumber: CnapsCode | None = None


class ProjectSubContractorAdd(WireModel):
    projectCode: Str
    corpCode: CorpCode
    corpName: CorpName
    corpType: Annotated[Str, code("projectCorpType")]
    entryTime: DateOrDateTime | None = None
    exitTime: SubcontractorExitTime | None = None
    bankInfos: list[BankInfo] | None = None
    pmName: Name | None = None
    pmIDCardType: Annotated[Str, code("idCardType")] | None = None
    pmIDCardNumber: Annotated[Str, ENCRYPTED, id_number("pmIDCardType")] | None = None
    pmPhone: Mobile | None = None


class ProjectSubContractorUpdate(ProjectSubContractorAdd):
    """Same shape as Add, keyed by (projectCode, corpCode)."""


class ProjectSubContractorQuery(QueryRequest):
    projectCode: Str | None = None
    corpCode: Str | None = None
    corpName: Str | None = None


class BankInfoRow(Row):
    bankNumber: Annotated[str, ENCRYPTED] | None = None


class ProjectSubContractorRow(Row):
    projectCode: str | None = None
    corpCode: str | None = None
    corpName: str | None = None
    pmIDCardNumber: Annotated[str, ENCRYPTED] | None = None
    bankInfos: list[BankInfoRow] | None = None
