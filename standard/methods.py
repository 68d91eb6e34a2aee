"""The method catalogue of ``open.api`` (interface.md §8.0): request model, kind, list limit,
key mode and query-row model of every method."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from standard.models import (
    async_result,
    attendance,
    contract,
    corp,
    entry_exit,
    payroll,
    project,
    subcontractor,
    team,
    training,
    worker,
)
from standard.models.base import Row, WireModel

Kind = Literal["write", "query", "utility"]
KeyMode = Literal["project", "enterprise", "any"]


@dataclass(frozen=True)
class Method:
    name: str
    request: type[WireModel]
    kind: Kind
    purpose: str
    key_mode: KeyMode = "project"
    row: type[Row] | None = None
    list_field: str | None = None
    list_limit: int | None = None
    normalise: Callable[[Any], Any] | None = None
    regional: str | None = None  # a regional extension, not on the national platform

    @property
    def is_async(self) -> bool:
        return self.kind == "write"

    @property
    def paged(self) -> bool:
        return self.kind == "query" and "pageIndex" in self.request.model_fields


_ALL = [
    Method("Corp.Upload", corp.CorpUpload, "write", "上传企业基本信息"),
    Method("Corp.Query", corp.CorpQuery, "query", "企业查询", "any", corp.CorpRow),
    Method("CorpCredential.Query", corp.CorpCredentialQuery, "query", "企业资质查询", "any"),
    Method("CorpBadRecord.Query", corp.CorpRecordQuery, "query", "企业不良记录查询", "any"),
    Method("CorpGoodRecord.Query", corp.CorpRecordQuery, "query", "企业良好记录查询", "any"),
    Method("CorpBlackList.Query", corp.CorpRecordQuery, "query", "企业黑名单查询", "any"),
    Method("Project.Add", project.ProjectAdd, "write", "新增项目", "enterprise"),
    Method("Project.Update", project.ProjectUpdate, "write", "修改项目(旧方式)", "enterprise"),
    Method("Project.PartUpdate", project.ProjectPartUpdate, "write", "修改项目信息(一项目一密钥)"),
    Method("Project.Query", project.ProjectQuery, "query", "项目查询", "any", project.ProjectRow),
    Method("ProjectSubContractor.Add", subcontractor.ProjectSubContractorAdd, "write", "上传参建单位"),
    Method("ProjectSubContractor.Update", subcontractor.ProjectSubContractorUpdate, "write", "修改参建单位"),
    Method(
        "ProjectSubContractor.Query",
        subcontractor.ProjectSubContractorQuery,
        "query",
        "参建单位查询",
        row=subcontractor.ProjectSubContractorRow,
    ),
    Method("Team.Add", team.TeamAdd, "write", "上传班组"),
    Method("Team.Update", team.TeamUpdate, "write", "修改班组"),
    Method("Team.Query", team.TeamQuery, "query", "班组查询", row=team.TeamRow),
    Method(
        "ProjectWorker.Add",
        worker.ProjectWorkerAdd,
        "write",
        "上传项目人员",
        list_field="workerList",
        list_limit=worker.WORKER_LIST_LIMIT,
    ),
    Method(
        "ProjectWorker.Update",
        worker.ProjectWorkerUpdate,
        "write",
        "修改项目人员",
        list_field="workerList",
        list_limit=worker.WORKER_LIST_LIMIT,
        normalise=worker.normalise_update,
    ),
    Method("ProjectWorker.Query", worker.ProjectWorkerQuery, "query", "项目人员查询", row=worker.ProjectWorkerRow),
    Method("Worker.Query", worker.WorkerQuery, "query", "单一查询人员基本信息", "any", worker.WorkerRow),
    Method("WorkerCredential.Query", worker.WorkerCredentialQuery, "query", "人员证书查询", "any"),
    Method("WorkerBadRecord.Query", worker.WorkerRecordQuery, "query", "人员不良记录查询", "any"),
    Method("WorkerGoodRecord.Query", worker.WorkerRecordQuery, "query", "人员良好记录查询", "any"),
    Method("WorkerBlackList.Query", worker.WorkerRecordQuery, "query", "人员黑名单查询", "any"),
    Method(
        "WorkerEntryExit.Add",
        entry_exit.WorkerEntryExitAdd,
        "write",
        "上传进退场",
        list_field="workerList",
        list_limit=entry_exit.ENTRY_EXIT_LIMIT,
    ),
    Method(
        "WorkerEntryExit.Query",
        entry_exit.WorkerEntryExitQuery,
        "query",
        "进退场查询",
        row=entry_exit.EntryExitRow,
    ),
    Method(
        "WorkerContract.Add",
        contract.WorkerContractAdd,
        "write",
        "上传劳动合同",
        list_field="contractList",
        list_limit=contract.CONTRACT_LIST_LIMIT,
    ),
    Method(
        "WorkerContract.Query",
        contract.WorkerContractQuery,
        "query",
        "劳动合同查询",
        row=contract.ContractRow,
    ),
    Method(
        "WorkerAttendance.Add",
        attendance.WorkerAttendanceAdd,
        "write",
        "上传考勤",
        list_field="dataList",
        list_limit=attendance.ATTENDANCE_LIST_LIMIT,
    ),
    Method(
        "WorkerAttendance.Query",
        attendance.WorkerAttendanceQuery,
        "query",
        "考勤查询",
        row=attendance.AttendanceRow,
    ),
    Method(
        "Payroll.Add",
        payroll.PayrollAdd,
        "write",
        "上传工资",
        list_field="detailList",
        list_limit=payroll.DETAIL_LIST_LIMIT,
    ),
    Method("Payroll.Query", payroll.PayrollQuery, "query", "工资查询", row=payroll.PayrollRow),
    Method("ProjectTraining.Add", training.ProjectTrainingAdd, "write", "上传培训"),
    Method("ProjectTraining.Query", training.ProjectTrainingQuery, "query", "培训查询", row=training.TrainingRow),
    Method("AsyncHandleResult.Query", async_result.AsyncHandleResultQuery, "utility", "异步处理结果查询", "any"),
    Method("CheckSign.Query", async_result.CheckSignQuery, "utility", "校验签名", regional="杭州"),
]

METHODS: dict[str, Method] = {m.name: m for m in _ALL}
_BY_LOWER: dict[str, Method] = {m.name.lower(): m for m in _ALL}


def get(name: str, *, case_insensitive: bool = True) -> Method | None:
    """Look up a method. The sign string is lowercased, so letter case of ``method`` is not
    protected; dispatch is case-insensitive by default."""
    return _BY_LOWER.get(name.lower()) if case_insensitive else METHODS.get(name)
