"""The data standard's code tables (``code-tables.json``): membership and labels."""

from __future__ import annotations

from functools import cache

from standard.data_files import load_json

# Chinese dictionary names used in the platform's "请参见[…]字典表" messages.
TABLE_LABELS: dict[str, str] = {
    "idCardType": "人员证件类型",
    "workType": "工种",
    "workRole": "工人类型",
    "politicsType": "政治面貌",
    "cultureLevelType": "文化程度",
    "maritalStatus": "婚姻状况",
    "projectCorpType": "参建类型",
    "corpType_registration": "企业登记注册类型",
    "projectCategory": "项目分类",
    "prjStatus": "项目状态",
    "approvalLevelNum": "立项级别",
    "prjSize": "建设规模",
    "propertyNum": "建设性质",
    "functionNum": "工程用途",
    "bankCode": "银行代码",
    "entryExitType": "进退场类型",
    "attendanceDirection": "考勤方向",
    "attendType": "通行方式",
    "contractPeriodType": "合同期限类型",
    "unit": "计量单位",
    "trainingTypeCode": "培训类型",
    "capitalCurrencyType_S1": "币种",
    "isNot": "是否",
    "gender": "性别",
    "asyncHandleStatus": "异步处理结果状态",
}


@cache
def table(name: str) -> dict[str, str]:
    """Return one code table as ``{code: label}``; raises KeyError for an unknown table."""
    tables = load_json("code-tables.json")
    if name.startswith("_") or name not in tables:
        raise KeyError(f"no code table named {name!r}")
    result: dict[str, str] = tables[name]
    return result


def is_member(name: str, code: str) -> bool:
    return code in table(name)


def label(name: str, code: str) -> str | None:
    return table(name).get(code)


def table_names() -> list[str]:
    return [k for k in load_json("code-tables.json") if not k.startswith("_")]


@cache
def province_prefixes() -> frozenset[str]:
    """The two-digit province prefixes of GB/T 2260 (from ``provinceCode_GB2260``)."""
    return frozenset(code[:2] for code in table("provinceCode_GB2260"))
