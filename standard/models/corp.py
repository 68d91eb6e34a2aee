"""Corp (企业): ``Corp.Upload`` and the company queries (interface.md §8.1, data.md §3.3)."""

from typing import Annotated

from pydantic import Field

from standard.fields import (
    ENCRYPTED,
    Address,
    AreaCode,
    CorpCode,
    CorpName,
    DateStr,
    Email,
    Name,
    NonNegative,
    PhoneText,
    Remark,
    Str,
    WebSite,
    ZipCode,
    code,
    id_number,
)
from standard.models.base import QueryRequest, Row, WireModel


class CorpUpload(WireModel):
    """Required: what both sources require. WEDS also marks ``registerDate`` 必填, but XN's test
    ``Corp.java`` shows the real platform accepting an upload without it (issue 13)."""

    corpCode: CorpCode
    corpName: CorpName
    areaCode: AreaCode
    registerDate: DateStr | None = None
    corpType: Annotated[Str, code("corpType_registration")] | None = None
    licenseNum: Annotated[Str, Field(max_length=50)] | None = None
    address: Address | None = None
    zipCode: ZipCode | None = None
    legalMan: Name | None = None
    legalManDuty: Name | None = None
    legalManProTitle: Name | None = None
    legaManProTitle: Name | None = None  # WEDS / 四库 spelling, accepted too
    legalManIDCardType: Annotated[Str, code("idCardType")] | None = None
    legalManIDCardNumber: Annotated[Str, ENCRYPTED, id_number("legalManIDCardType")] | None = None
    regCapital: NonNegative | None = None
    factRegCapital: NonNegative | None = None
    capitalCurrencyType: Str | None = None  # CNY/USD or ISO 4217 numeric: both accepted (data.md §3.3)
    establishDate: DateStr | None = None
    officePhone: PhoneText | None = None
    faxNumber: PhoneText | None = None
    linkman: Name | None = None
    linkMan: Name | None = None
    linkTel: PhoneText | None = None
    email: Email | None = None
    webSite: WebSite | None = None
    website: WebSite | None = None
    remark: Remark | None = None


class CorpQuery(QueryRequest):
    corpCode: Str | None = None
    corpName: Str | None = None


class CorpCredentialQuery(QueryRequest):
    corpCode: Str | None = None
    projectCode: Str | None = None


class CorpRecordQuery(QueryRequest):
    """``CorpBadRecord.Query``, ``CorpGoodRecord.Query``, ``CorpBlackList.Query``."""

    corpCode: Str | None = None
    corpName: Str | None = None


class CorpRow(Row):
    corpCode: str | None = None
    corpName: str | None = None
    legalManIDCardNumber: Annotated[str, ENCRYPTED] | None = None
