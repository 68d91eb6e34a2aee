"""Client checks judged on hand-made inspection-log entries, where a whole stack is not needed."""

from __future__ import annotations

from typing import Any

from conformance.client.checks import _held_as_future

FUTURE = "[dataList][0][date]不能大于当前时间!"
KEY = ("WorkerAttendance.Add", "sealed")


def _sends(times: list[str], message: str = FUTURE) -> list[dict[str, Any]]:
    return [
        {"method": KEY[0], "form": {"data": KEY[1]}, "code": -1, "message": message, "at": f"2027-01-01T00:30:{t}"}
        for t in times
    ]


def test_a_clock_in_refused_only_as_future_and_resent_spaced_out_is_not_a_retried_refusal() -> None:
    assert _held_as_future(KEY, _sends(["00.000", "01.000", "03.000", "07.000"]))


def test_future_refusals_resent_within_a_second_are_a_retried_refusal() -> None:
    assert not _held_as_future(KEY, _sends(["00.000", "00.050", "00.100"]))


def test_a_refusal_that_says_more_than_future_is_a_retried_refusal() -> None:
    mixed = f"{FUTURE};[dataList][0][idCardNumber]身份证号码格式不正确"
    assert not _held_as_future(KEY, _sends(["00.000", "02.000", "05.000"], mixed))
    assert not _held_as_future(KEY, _sends(["00.000", "02.000", "05.000"], ""))
