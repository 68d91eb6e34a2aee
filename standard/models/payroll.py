"""Payroll (工资): ``Payroll.Add/Query`` (§8.9, data.md §3.11)."""

from typing import Annotated, Self

from pydantic import Field, model_validator

from standard.fields import (
    ENCRYPTED,
    Amount,
    BackPayMonth,
    BankCard,
    CorpCode,
    CorpName,
    EnterpriseAccount,
    NonNegative,
    PayMonth,
    ShortText,
    Str,
    TeamSysNo,
    YesNo,
    code,
    id_number,
    not_future_date,
)
from standard.models.base import Attachment, QueryRequest, Row, WireModel, require

DETAIL_LIST_LIMIT = 20


class PayrollDetail(WireModel):
    idCardType: Annotated[Str, code("idCardType")]
    idCardNumber: Annotated[Str, ENCRYPTED, id_number("idCardType")]
    payRollBankCardNumber: BankCard
    payRollBankCode: Annotated[Str, code("bankCode")]
    payRollBankName: ShortText
    payBankCardNumber: EnterpriseAccount
    payBankCode: Annotated[Str, code("bankCode")]
    payBankName: ShortText
    totalPayAmount: Amount
    actualAmount: Amount
    isBackPay: YesNo
    balanceDate: Annotated[Str, not_future_date("发放日期不能大于今天")]
    thirdPayRollCode: ShortText
    days: Annotated[int, Field(ge=0, le=31)] | None = None
    workHours: NonNegative | None = None
    backPayMonth: BackPayMonth | None = None

    @model_validator(mode="after")
    def _back_pay_month_when_back_pay(self) -> Self:
        if self.isBackPay == 1 and not self.backPayMonth:
            require("backPayMonth", "isBackPay = 1")
        return self


class PayrollAdd(WireModel):
    projectCode: Str
    corpCode: CorpCode
    corpName: CorpName
    teamSysNo: TeamSysNo
    payMonth: PayMonth
    detailList: Annotated[list[PayrollDetail], Field(min_length=1, max_length=DETAIL_LIST_LIMIT)]
    attachments: Annotated[list[Attachment], Field(max_length=5)] | None = None


class PayrollQuery(QueryRequest):
    projectCode: Str | None = None
    corpCode: Str | None = None
    corpName: Str | None = None
    teamSysNo: TeamSysNo | None = None
    payMonth: Str | None = None
    payRollCode: Str | None = None
    idCardType: Str | None = None
    idCardNumber: Annotated[Str, ENCRYPTED] | None = None


class PayrollDetailRow(Row):
    idCardNumber: Annotated[str, ENCRYPTED] | None = None
    payRollBankCardNumber: Annotated[str, ENCRYPTED] | None = None
    payBankCardNumber: Annotated[str, ENCRYPTED] | None = None


class PayrollRow(PayrollDetailRow):
    """A row is either a payroll with ``detailList`` or one detail (the shape is open, §16.5)."""

    payrollCode: str | None = None
    detailList: list[PayrollDetailRow] | None = None
