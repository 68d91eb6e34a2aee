"""Valid payloads for the tenant under test, unique per run so a plan can run twice against the
same platform without tripping its own uniqueness rules."""

from __future__ import annotations

import base64
import io
import random
from datetime import date, datetime, timedelta
from typing import Any

from PIL import Image

from conformance.target import Tenant
from standard import credit_code, idcard

DEZHOU_COUNTIES = ("371402", "371403", "371422", "371423", "371424", "371425", "371426", "371427", "371428")


class PayloadFactory:
    def __init__(self, tenant: Tenant, seed: int, now: datetime) -> None:
        """``now``: Beijing wall time (naive), from the target's clock."""
        self.tenant = tenant
        self.rng = random.Random(seed)
        self.run = f"{seed % 100000:05d}"
        self.now = now
        self._serial = 0

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def id_number(self) -> str:
        birth = date(1965, 1, 1) + timedelta(days=self.rng.randrange(0, 365 * 38))
        return idcard.make(self.rng.choice(DEZHOU_COUNTIES), birth, self.rng.randrange(100), self.rng.random() < 0.8)

    def credit_code(self) -> str:
        body = "".join(self.rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
        return credit_code.make_uscc(self.rng.choice(DEZHOU_COUNTIES), body)

    @staticmethod
    def jpeg(colour: tuple[int, int, int] = (210, 170, 140), size: int = 96) -> str:
        buf = io.BytesIO()
        Image.new("RGB", (size, size), colour).save(buf, "JPEG", quality=70)
        return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()

    def subcontractor(self, corp_type: str = "006") -> dict[str, Any]:
        code = self.credit_code()
        return {
            "projectCode": self.tenant.projectCode,
            "corpCode": code,
            "corpName": f"德州{self.run}劳务有限公司{self._next()}",
            "corpType": corp_type,
            "entryTime": (self.now - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S"),
        }

    def team(self, corp_code: str | None = None, corp_name: str | None = None) -> dict[str, Any]:
        return {
            "projectCode": self.tenant.projectCode,
            "corpCode": corp_code or self.tenant.corpCode,
            "corpName": corp_name or self.tenant.corpName,
            "teamName": f"钢筋{self.run}班{self._next()}",
            "responsiblePersonName": "王建国",
            "responsiblePersonPhone": "13905340000",
        }

    def worker(self, id_number: str | None = None) -> dict[str, Any]:
        n = self._next()
        return {
            "workerName": self.rng.choice("张王李赵刘陈杨黄")
            + self.rng.choice(["建军", "国强", "志明", "海涛", "春花"]),
            "isTeamLeader": 0,
            "idCardType": "01",
            "idCardNumber": id_number or self.id_number(),
            "workType": self.rng.choice(["010", "020", "030", "040"]),
            "workRole": 20,
            "nation": "汉",
            "address": f"山东省德州市德城区新华路{n}号",
            "headImage": self.jpeg((200 + n % 40, 160, 130)),
            "politicsType": "13",
            "cellPhone": f"139{self.rng.randrange(10**8):08d}",
            "cultureLevelType": "02",
            "grantOrg": "德州市公安局德城分局",
            "payRollBankCardNumber": "6217000010012345677",
        }

    def workers_payload(self, team: dict[str, Any], team_sys_no: int, workers: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "projectCode": self.tenant.projectCode,
            "corpCode": team["corpCode"],
            "corpName": team["corpName"],
            "teamSysNo": team_sys_no,
            "teamName": team["teamName"],
            "workerList": workers,
        }

    def entry(self, team: dict[str, Any], team_sys_no: int, ids: list[str], day: date, kind: int = 1) -> dict[str, Any]:
        return {
            "projectCode": self.tenant.projectCode,
            "corpCode": team["corpCode"],
            "corpName": team["corpName"],
            "teamSysNo": team_sys_no,
            "workerList": [{"idCardType": "01", "idCardNumber": i, "date": day.isoformat(), "type": kind} for i in ids],
        }

    def attendance(self, team_sys_no: int, ids: list[str], start: datetime, count: int) -> dict[str, Any]:
        records = [
            {
                "idCardType": "01",
                "idCardNumber": ids[i % len(ids)],
                "date": (start + timedelta(seconds=30 * i)).strftime("%Y-%m-%d %H:%M:%S"),
                "direction": "01" if (i // len(ids)) % 2 == 0 else "02",
                "attendType": "001",
                "channel": "1号门",
            }
            for i in range(count)
        ]
        return {"projectCode": self.tenant.projectCode, "teamSysNo": team_sys_no, "dataList": records}

    def contract(self, team: dict[str, Any], ids: list[str]) -> dict[str, Any]:
        start = self.now.date() - timedelta(days=20)
        return {
            "projectCode": self.tenant.projectCode,
            "contractList": [
                {
                    "corpCode": team["corpCode"],
                    "corpName": team["corpName"],
                    "idCardType": "01",
                    "idCardNumber": i,
                    "contractPeriodType": 0,
                    "startDate": start.isoformat(),
                    "endDate": (start + timedelta(days=365)).isoformat(),
                    "unit": 80,
                    "unitPrice": 300,
                }
                for i in ids
            ],
        }

    def payroll(self, team: dict[str, Any], team_sys_no: int, ids: list[str]) -> dict[str, Any]:
        month = (self.now.replace(day=1) - timedelta(days=1)).date()
        return {
            "projectCode": self.tenant.projectCode,
            "corpCode": team["corpCode"],
            "corpName": team["corpName"],
            "teamSysNo": team_sys_no,
            "payMonth": month.strftime("%Y-%m"),
            "detailList": [
                {
                    "idCardType": "01",
                    "idCardNumber": i,
                    "days": 22,
                    "workHours": 176,
                    "payRollBankCardNumber": "6217000010012345677",
                    "payRollBankCode": "105",
                    "payRollBankName": "中国建设银行德州分行",
                    "payBankCardNumber": "37050161600100000001",
                    "payBankCode": "102",
                    "payBankName": "中国工商银行德州分行",
                    "totalPayAmount": 6600.0,
                    "actualAmount": 6600.0,
                    "isBackPay": 0,
                    "balanceDate": month.isoformat(),
                    "thirdPayRollCode": f"GZ-{self.run}-{self._next()}",
                }
                for i in ids
            ],
        }
