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
from fixtures.fake import payloads
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

    def _team_of(self, team: dict[str, Any], team_sys_no: int) -> dict[str, Any]:
        return payloads.team_of(self.tenant.projectCode, team["corpCode"], team["corpName"], team_sys_no)

    def workers_payload(self, team: dict[str, Any], team_sys_no: int, workers: list[dict[str, Any]]) -> dict[str, Any]:
        return {**self._team_of(team, team_sys_no), "teamName": team["teamName"], "workerList": workers}

    def entry(self, team: dict[str, Any], team_sys_no: int, ids: list[str], day: date, kind: int = 1) -> dict[str, Any]:
        return payloads.entry_exit(self._team_of(team, team_sys_no), ids, day, kind)

    def attendance(self, team_sys_no: int, ids: list[str], start: datetime, count: int) -> dict[str, Any]:
        records = [
            payloads.clock_in(
                ids[i % len(ids)],
                start + timedelta(seconds=30 * i),
                "01" if (i // len(ids)) % 2 == 0 else "02",
                "1号门",
            )
            for i in range(count)
        ]
        return {"projectCode": self.tenant.projectCode, "teamSysNo": team_sys_no, "dataList": records}

    def contract(self, team: dict[str, Any], ids: list[str]) -> dict[str, Any]:
        start = self.now.date() - timedelta(days=20)
        items = [
            payloads.contract(team["corpCode"], team["corpName"], i, start, period_type=0, unit=80, unit_price=300)
            for i in ids
        ]
        return {"projectCode": self.tenant.projectCode, "contractList": items}

    def payroll(self, team: dict[str, Any], team_sys_no: int, ids: list[str]) -> dict[str, Any]:
        month = (self.now.replace(day=1) - timedelta(days=1)).date()
        return {
            **self._team_of(team, team_sys_no),
            "payMonth": month.strftime("%Y-%m"),
            "detailList": [
                payloads.wage(
                    i,
                    days=22,
                    hours=176,
                    bank=("6217000010012345677", "105", "中国建设银行德州分行"),
                    pay_account="37050161600100000001",
                    amount=6600.0,
                    balance_date=month,
                    code=f"GZ-{self.run}-{self._next()}",
                )
                for i in ids
            ],
        }
