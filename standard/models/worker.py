"""Project workers (项目人员): ``ProjectWorker.Add/Update/Query``, ``Worker.Query`` and the worker
record queries (interface.md §8.5, data.md §3.6–3.7)."""

from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator

from standard.fields import (
    ENCRYPTED,
    Address,
    BankCard,
    CnapsCode,
    CorpCode,
    CorpName,
    DateStr,
    Mobile,
    Name,
    PhoneText,
    ShortText,
    Str,
    TeamSysNo,
    YesNo,
    code,
    fail,
    id_number,
    image,
    int_code,
    profile_of,
)
from standard.models.base import QueryRequest, Row, WireModel

WORKER_LIST_LIMIT = 5
UNSUPPORTED_ID_TYPE = "异常,目前只支持身份证类型的证件!"


class WorkerItem(WireModel):
    workerName: Name
    isTeamLeader: YesNo
    idCardType: Annotated[Str, code("idCardType")]
    idCardNumber: Annotated[Str, ENCRYPTED, id_number("idCardType")]
    workType: Annotated[Str, code("workType")]
    workRole: Annotated[int, int_code("workRole")]
    nation: Annotated[Str, Field(max_length=20)]
    address: Address
    headImage: Annotated[Str, image(50, url_switch=True)]
    politicsType: Annotated[Str, code("politicsType")]
    cellPhone: Mobile
    cultureLevelType: Annotated[Str, code("cultureLevelType")]
    grantOrg: ShortText
    joinedTime: DateStr | None = None
    issueCardDate: DateStr | None = None
    issueCardPic: Annotated[Str, image(50)] | None = None
    cardNumber: Annotated[Str, Field(max_length=30)] | None = None
    payRollBankCardNumber: BankCard | None = None
    payRollBankName: Annotated[Str, Field(max_length=50)] | None = None
    bankLinkNumber: CnapsCode | None = None
    payRollTopBankCode: Annotated[Str, code("bankCode")] | None = None
    payRollTopBankName: Annotated[Str, Field(max_length=50)] | None = None
    hasBuyInsurance: YesNo | None = None
    Specialty: Annotated[Str, Field(max_length=200)] | None = None  # capital S as published
    hasBadMedicalHistory: YesNo | None = None
    urgentLinkMan: Name | None = None
    urgentLinkManPhone: PhoneText | None = None
    workDate: DateStr | None = None
    maritalStatus: Annotated[Str, code("maritalStatus")] | None = None
    positiveIDCardImage: Annotated[Str, image(500)] | None = None
    negativeIDCardImage: Annotated[Str, image(500)] | None = None
    startDate: DateStr | None = None
    expiryDate: Str | None = None  # yyyy-MM-dd; how 长期 is sent is unknown, so free text


class WorkerItemAdd(WorkerItem):
    @field_validator("idCardType")
    @classmethod
    def _only_resident_id(cls, value: str, info: ValidationInfo) -> str:
        # Jan 2019: 目前只支持身份证类型的证件 (interface.md §10.4); lenient accepts 01–17.
        if value != "01" and not profile_of(info).all_id_types:
            fail("id_type_unsupported", UNSUPPORTED_ID_TYPE)
        return value


class _WorkerHeader(WireModel):
    projectCode: Str
    corpCode: CorpCode
    corpName: CorpName
    teamSysNo: TeamSysNo
    teamName: Annotated[Str, Field(max_length=100)]


class ProjectWorkerAdd(_WorkerHeader):
    workerList: Annotated[list[WorkerItemAdd], Field(min_length=1, max_length=WORKER_LIST_LIMIT)]


class WorkerItemUpdate(WorkerItem):
    """Update: politicsType and cultureLevelType become optional (data.md §3.6)."""

    politicsType: Annotated[Str, code("politicsType")] | None = None  # type: ignore[assignment]
    cultureLevelType: Annotated[Str, code("cultureLevelType")] | None = None  # type: ignore[assignment]


class ProjectWorkerUpdate(_WorkerHeader):
    """The ``workerList`` form (XN, GD). The flat form is normalised to it by ``normalise_update``."""

    workerList: Annotated[list[WorkerItemUpdate], Field(min_length=1, max_length=WORKER_LIST_LIMIT)]


HEADER_FIELDS = frozenset(_WorkerHeader.model_fields)


def normalise_update(data: Any) -> Any:
    """Accept the flat ``ProjectWorker.Update`` form (WEDS, GD DemoTest): header + one worker."""
    if isinstance(data, dict) and "workerList" not in data and "idCardNumber" in data:
        header = {k: v for k, v in data.items() if k in HEADER_FIELDS}
        worker = {k: v for k, v in data.items() if k not in HEADER_FIELDS}
        return {**header, "workerList": [worker]}
    return data


class ProjectWorkerQuery(QueryRequest):
    projectCode: Str
    corpCode: Str | None = None
    corpName: Str | None = None
    teamSysNo: TeamSysNo | None = None
    teamName: Str | None = None
    idCardType: Str | None = None
    idCardNumber: Annotated[Str, ENCRYPTED] | None = None


class WorkerQuery(WireModel):
    """``Worker.Query``: one worker by ID; not paged."""

    idCardType: Annotated[Str, code("idCardType")]
    idCardNumber: Annotated[Str, ENCRYPTED]


class WorkerCredentialQuery(QueryRequest):
    idCardType: Annotated[Str, code("idCardType")]
    idCardNumber: Annotated[Str, ENCRYPTED]


class WorkerRecordQuery(QueryRequest):
    """``WorkerBadRecord.Query``, ``WorkerGoodRecord.Query``, ``WorkerBlackList.Query`` (names only known)."""

    idCardType: Str | None = None
    idCardNumber: Annotated[Str, ENCRYPTED] | None = None


class ProjectWorkerRow(Row):
    projectCode: str | None = None
    teamSysNo: TeamSysNo | None = None
    workerName: str | None = None
    idCardType: str | None = None
    idCardNumber: Annotated[str, ENCRYPTED] | None = None
    payRollBankCardNumber: Annotated[str, ENCRYPTED] | None = None


class WorkerRow(Row):
    workerName: str | None = None
    idCardType: str | None = None
    idCardNumber: Annotated[str, ENCRYPTED] | None = None
