"""Teams (班组): ``Team.Add/Update/Query`` (§8.4, data.md §3.5)."""

from typing import Annotated, Self

from pydantic import Field, model_validator

from standard.fields import (
    ENCRYPTED,
    CorpCode,
    CorpName,
    DateStr,
    Mobile,
    Name,
    Remark,
    Str,
    TeamSysNo,
    code,
    id_number,
)
from standard.models.base import Attachment, QueryRequest, Row, WireModel, require

TeamName = Annotated[Str, Field(max_length=100)]
TeamAttachments = Annotated[list[Attachment], Field(max_length=5)]


class _TeamBody(WireModel):
    responsiblePersonName: Name | None = None
    responsiblePersonPhone: Mobile | None = None
    responsiblePersonIDCardType: Annotated[Str, code("idCardType")] | None = None
    responsiblePersonIDNumber: Annotated[Str, ENCRYPTED, id_number("responsiblePersonIDCardType")] | None = None
    teamLeaderName: Name | None = None
    teamLeaderPhone: Mobile | None = None
    teamLeaderIdcardType: Annotated[Str, code("idCardType")] | None = None
    teamLeaderIdNumber: Annotated[Str, ENCRYPTED, id_number("teamLeaderIdcardType")] | None = None
    remark: Remark | None = None
    entryTime: DateStr | None = None
    exitTime: DateStr | None = None
    entryAttachments: TeamAttachments | None = None
    exitAttachments: TeamAttachments | None = None

    @model_validator(mode="after")
    def _attachments_with_times(self) -> Self:
        # 附件 are required when the matching time is set (data.md §5.8).
        if self.entryTime and not self.entryAttachments:
            require("entryAttachments", "entryTime is set")
        if self.exitTime and not self.exitAttachments:
            require("exitAttachments", "exitTime is set")
        return self


class TeamAdd(_TeamBody):
    projectCode: Str
    corpCode: CorpCode
    corpName: CorpName
    teamName: TeamName


class TeamUpdate(_TeamBody):
    teamSysNo: TeamSysNo
    teamName: TeamName
    projectCode: Str | None = None
    corpCode: CorpCode | None = None
    corpName: CorpName | None = None


class TeamQuery(QueryRequest):
    projectCode: Str | None = None
    teamSysNo: TeamSysNo | None = None
    teamName: Str | None = None
    corpCode: Str | None = None
    corpName: Str | None = None


class TeamRow(Row):
    teamSysNo: TeamSysNo | None = None
    projectCode: str | None = None
    teamName: str | None = None
    teamLeaderIDNumber: Annotated[str, ENCRYPTED] | None = None
    responsiblePersonIDNumber: Annotated[str, ENCRYPTED] | None = None
