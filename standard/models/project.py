"""Project (项目): Add, Update, PartUpdate, Query (interface.md §8.2, data.md §3.2)."""

from typing import Annotated

from pydantic import Field

from standard.fields import (
    ENCRYPTED,
    Address,
    AreaCode,
    CorpCode,
    CorpName,
    DateStr,
    Latitude,
    Longitude,
    Name,
    NonNegative,
    PhoneText,
    ProjectName,
    Remark,
    ShortText,
    Str,
    code,
)
from standard.models.base import QueryRequest, Row, WireModel

EncryptedLicence = Annotated[Str, ENCRYPTED, Field(max_length=100)]


class BuilderLicense(WireModel):
    prjName: ProjectName
    builderLicenseNum: EncryptedLicence


class _ProjectDescriptive(WireModel):
    description: Remark | None = None
    buildCorpName: CorpName | None = None
    buildCorpCode: CorpCode | None = None
    buildPlanNum: EncryptedLicence | None = None
    prjPlanNum: EncryptedLicence | None = None
    invest: NonNegative | None = None
    buildingArea: NonNegative | None = None
    buildingLength: NonNegative | None = None
    linkMan: Name | None = None
    linkman: Name | None = None
    linkPhone: PhoneText | None = None
    lat: Latitude | None = None
    lng: Longitude | None = None
    address: Address | None = None
    approvalNum: ShortText | None = None
    approvalLevelNum: Annotated[Str, code("approvalLevelNum")] | None = None
    prjSize: Annotated[Str, code("prjSize")] | None = None
    propertyNum: Annotated[Str, code("propertyNum")] | None = None
    functionNum: Annotated[Str, code("functionNum")] | None = None
    nationNum: Str | None = None  # int (WEDS) or 3-digit string (GD); GB/T 2659 not carried


class ProjectAdd(_ProjectDescriptive):
    contractorCorpCode: CorpCode
    contractorCorpName: CorpName
    name: ProjectName
    category: Annotated[Str, code("projectCategory")]
    builderLicenses: Annotated[list[BuilderLicense], Field(min_length=1)]
    areaCode: AreaCode
    prjStatus: Annotated[Str, code("prjStatus")]
    thirdPartyProjectCode: ShortText
    startDate: DateStr | None = None
    completeDate: DateStr | None = None


class ProjectUpdate(ProjectAdd):
    projectCode: Str


class ProjectPartUpdate(_ProjectDescriptive):
    projectCode: Str
    category: Annotated[Str, code("projectCategory")] | None = None
    prjStatus: Annotated[Str, code("prjStatus")] | None = None
    thirdPartyProjectCode: ShortText | None = None


class ProjectQuery(QueryRequest):
    projectCode: Str | None = None
    contractorCorpCode: Str | None = None
    contractorCorpName: Str | None = None


class BuilderLicenseRow(Row):
    prjName: str | None = None
    builderLicenseNum: Annotated[str, ENCRYPTED] | None = None


class ProjectRow(Row):
    projectCode: str | None = None
    name: str | None = None
    buildPlanNum: Annotated[str, ENCRYPTED] | None = None
    prjPlanNum: Annotated[str, ENCRYPTED] | None = None
    builderLicenses: list[BuilderLicenseRow] | None = None
