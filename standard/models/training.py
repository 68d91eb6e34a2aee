"""Training (培训): ``ProjectTraining.Add/Query`` (§8.10, data.md §3.12)."""

from typing import Annotated

from pydantic import Field

from standard import errors
from standard.fields import ENCRYPTED, DateStr, Remark, Rule, ShortText, Str, YesNo, code, fail, id_number
from standard.models.base import Attachment, QueryRequest, Row, WireModel


def _one_decimal(value: float) -> float:
    if round(value, 1) != value:
        fail("range", errors.RANGE)
    return value


Score = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False), Rule(_one_decimal, {"multipleOf": 0.1})]


class TrainedWorker(WireModel):
    idCardType: Annotated[Str, code("idCardType")]
    idCardNumber: Annotated[Str, ENCRYPTED, id_number("idCardType")]
    isPass: YesNo
    trainingScore: Score | None = None  # 0–100, one decimal


class ProjectTrainingAdd(WireModel):
    projectCode: Str
    trainingDate: DateStr
    trainingDuration: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    trainingName: ShortText
    trainingTypeCode: Annotated[Str, code("trainingTypeCode")]
    trainer: ShortText | None = None
    trainingOrg: ShortText | None = None
    trainingAddress: ShortText | None = None
    description: Remark | None = None
    attachments: Annotated[list[Attachment], Field(max_length=10)] | None = None
    workers: list[TrainedWorker] | None = None


class ProjectTrainingQuery(QueryRequest):
    projectCode: Str | None = None
    trainingDate: DateStr | None = None


class TrainingWorkerRow(Row):
    idCardNumber: Annotated[str, ENCRYPTED] | None = None


class TrainingRow(Row):
    workers: list[TrainingWorkerRow] | None = None
