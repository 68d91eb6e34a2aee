"""AES field encryption in requests and in query rows (interface.md §4)."""

from __future__ import annotations

from datetime import timedelta

from conformance import setup
from conformance.catalogue import check, expect
from conformance.checks.oracles import expect_code, expect_refused
from conformance.target import Target
from standard import crypto, payload
from standard.models.attendance import WorkerAttendanceAdd
from standard.models.worker import ProjectWorkerRow


def _attendance(target: Target) -> dict[str, object]:
    _, sys_no = setup.team(target)
    ids = setup.enrolled(target)
    return setup.factory(target).attendance(sys_no, ids[:1], target.now() - timedelta(minutes=30), 1)


@check(
    "AES-01",
    "A filter encrypted with AES-256-CBC (key = secret, IV = secret[0..16]) finds the worker.",
    requirement="REQ-AES-01",
    area="encryption",
    smoke=True,
)
def aes_01(target: Target) -> None:
    worker_id = setup.enrolled(target)[0]
    data = {
        "pageIndex": 0,
        "pageSize": 10,
        "projectCode": target.tenant.projectCode,
        "idCardType": "01",
        "idCardNumber": worker_id,
    }
    exchange = target.call("ProjectWorker.Query", data)
    expect_code(exchange, 0)
    env = exchange.envelope
    total = env.data.get("totalCount") if env and isinstance(env.data, dict) else None
    expect(total == 1, f"expected exactly one worker for the encrypted filter, totalCount = {total}")


@check(
    "AES-02",
    "A value encrypted with the AES-128 outlier key is refused (strict profile).",
    requirement="REQ-AES-01",
    area="encryption",
    profiles=("strict",),
)
def aes_02(target: Target) -> None:
    sealed = payload.encrypt(
        WorkerAttendanceAdd, _attendance(target), target.tenant.appsecret, crypto.AesVariant.OUTLIER_AES128
    )
    expect_refused(target.call("WorkerAttendance.Add", sealed, encrypt=False), (-1,))


@check(
    "AES-03",
    "Query rows return idCardNumber and payRollBankCardNumber encrypted, decrypting to what was sent.",
    requirement="REQ-AES-02",
    area="encryption",
    smoke=True,
)
def aes_03(target: Target) -> None:
    ids = set(setup.enrolled(target))
    _, sys_no = setup.team(target)
    data = {"pageIndex": 0, "pageSize": 50, "projectCode": target.tenant.projectCode, "teamSysNo": sys_no}
    exchange = target.call("ProjectWorker.Query", data)
    expect_code(exchange, 0)
    env = exchange.envelope
    rows = env.data.get("rows", []) if env and isinstance(env.data, dict) else []
    expect(len(rows) >= len(ids), f"expected the {len(ids)} enrolled workers in the rows, got {len(rows)}")
    seen = set()
    for row in rows:
        raw = row.get("idCardNumber")
        expect(raw not in ids, f"idCardNumber {raw} came back in plaintext")
        plain, failures = payload.decrypt(ProjectWorkerRow, row, target.tenant.appsecret)
        expect(not failures, f"a row field does not decrypt: {failures}")
        seen.add(plain.get("idCardNumber"))
        card = row.get("payRollBankCardNumber")
        expect(card is None or not card.isdigit(), f"payRollBankCardNumber {card} came back in plaintext")
    expect(ids <= seen, f"decrypted rows lack uploaded workers: {sorted(ids - seen)}")


@check(
    "AES-04",
    "A plaintext ID number in an encrypted field is refused with -1.",
    requirement="REQ-AES-03",
    area="encryption",
)
def aes_04(target: Target) -> None:
    expect_refused(target.call("WorkerAttendance.Add", _attendance(target), encrypt=False), (-1,))
