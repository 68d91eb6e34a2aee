"""Attendance (考勤): ``WorkerAttendance.Add/Query`` (§8.8, data.md §3.10)."""

from typing import Annotated

from pydantic import Field

from standard.fields import (
    ENCRYPTED,
    AttendanceTime,
    DateStr,
    Direction,
    Latitude,
    Longitude,
    ShortText,
    Str,
    TeamSysNo,
    code,
    id_number,
)
from standard.fields import (
    image as base64_image,
)
from standard.models.base import QueryRequest, Row, WireModel

ATTENDANCE_LIST_LIMIT = 20


class AttendanceItem(WireModel):
    idCardType: Annotated[Str, code("idCardType")]
    idCardNumber: Annotated[Str, ENCRYPTED, id_number("idCardType")]
    date: AttendanceTime
    direction: Direction
    image: Annotated[Str, base64_image(50)] | None = None
    channel: ShortText | None = None
    attendType: Annotated[Str, code("attendType")] | None = None
    lng: Longitude | None = None
    lat: Latitude | None = None
    temperature: Annotated[float, Field(ge=35, le=99)] | None = None  # ATT-SQL only [L]


class WorkerAttendanceAdd(WireModel):
    projectCode: Str
    teamSysNo: TeamSysNo
    dataList: Annotated[list[AttendanceItem], Field(min_length=1, max_length=ATTENDANCE_LIST_LIMIT)]


class WorkerAttendanceQuery(QueryRequest):
    projectCode: Str
    date: DateStr | None = None  # 只能按天查询
    teamSysNo: TeamSysNo | None = None
    idCardType: Str | None = None
    idCardNumber: Annotated[Str, ENCRYPTED] | None = None


class AttendanceRow(Row):
    idCardNumber: Annotated[str, ENCRYPTED] | None = None
