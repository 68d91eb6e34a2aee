"""Sign + encrypt + validate one WorkerAttendance.Add of 20 records: operations per second.

Run pinned to one core:  taskset -c 0 .venv/bin/python benchmarks/standard_attendance.py
One operation = validate the plaintext payload, encrypt its ID numbers (AES-256-CBC), serialise
and sign the request (SHA-256) — what a client does before sending one batch.
"""

from __future__ import annotations

import statistics
import time
from datetime import date, datetime, timedelta

from standard import envelope, idcard, payload
from standard.models.attendance import WorkerAttendanceAdd

SECRET = "0123456789abcdef0123456789abcdef"
APPID = "37140220190101001"


def batch() -> dict[str, object]:
    start = datetime(2025, 3, 2, 6, 30)
    records = [
        {
            "idCardType": "01",
            "idCardNumber": idcard.make("371402", date(1980, 1, 1) + timedelta(days=97 * i), i, i % 2 == 0),
            "date": (start + timedelta(seconds=37 * i)).strftime("%Y-%m-%d %H:%M:%S"),
            "direction": "01",
            "attendType": "001",
            "channel": "1号门进口",
        }
        for i in range(20)
    ]
    return {"projectCode": APPID, "teamSysNo": 100000001, "dataList": records}


def one(data: dict[str, object], now: datetime) -> str:
    payload.validate(WorkerAttendanceAdd, data, now=now)
    sealed = payload.encrypt(WorkerAttendanceAdd, data, SECRET)
    return envelope.build_request("WorkerAttendance.Add", sealed, appid=APPID, secret=SECRET)["sign"]


def main(rounds: int = 5, seconds: float = 2.0) -> None:
    data, now = batch(), datetime(2025, 3, 2, 12, 0)
    one(data, now)  # warm caches
    rates = []
    for _ in range(rounds):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            one(data, now)
            count += 1
        rates.append(count / (time.perf_counter() - started))
    median = statistics.median(rates)
    print(
        f"WorkerAttendance.Add x20 sign+encrypt+validate: {median:,.0f} ops/s "
        f"({median * 20:,.0f} records/s; median of {rounds} x {seconds:.0f} s)"
    )


if __name__ == "__main__":
    main()
