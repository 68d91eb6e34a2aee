"""The one decision every gate makes (hardware_sim.recognition), case by case."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hardware_sim.device import BEIJING, Enrolled
from hardware_sim.recognition import Credential, Verdict, recognise

AT = datetime(2026, 3, 2, 7, 30, tzinfo=BEIJING)
FACE = b"\xff\xd8face"


def worker(**changes: object) -> Enrolled:
    person = Enrolled("1", "张三", face=FACE, valid_from=AT - timedelta(days=1), valid_to=AT + timedelta(days=1))
    for key, value in changes.items():
        setattr(person, key, value)
    return person


@pytest.mark.parametrize(
    ("credential", "person", "live", "verdict"),
    [
        ("face", worker(), True, Verdict.FACE_PASS),
        ("face", worker(face=None), True, Verdict.STRANGER),
        ("face", None, True, Verdict.STRANGER),
        ("face", worker(), False, Verdict.LIVENESS_FAIL),
        ("face", worker(valid_from=AT + timedelta(seconds=1)), True, Verdict.OUTSIDE_VALIDITY),
        ("face", worker(valid_to=AT - timedelta(seconds=1)), True, Verdict.OUTSIDE_VALIDITY),
        ("face", worker(valid_from=AT, valid_to=AT), True, Verdict.FACE_PASS),  # both ends inclusive
        ("face", worker(valid_from=None, valid_to=None), True, Verdict.FACE_PASS),  # no window
        ("face", worker(blocklisted=True, valid_to=AT - timedelta(days=9)), True, Verdict.BLOCKLISTED),
        ("face", worker(blocklisted=True, face=None), True, Verdict.STRANGER),  # cannot recognise them at all
        ("card", worker(face=None), True, Verdict.CARD_PASS),  # a card needs no face
        ("card", None, True, Verdict.CARD_UNKNOWN),
        ("card", worker(valid_to=AT - timedelta(seconds=1)), True, Verdict.OUTSIDE_VALIDITY),
        ("id_card", None, True, Verdict.ID_CARD),  # read and reported, naming nobody
        ("id_card", worker(blocklisted=True), True, Verdict.BLOCKLISTED),
    ],
)
def test_verdicts(credential: Credential, person: Enrolled | None, live: bool, verdict: Verdict) -> None:
    assert recognise(credential, person, AT, live=live) is verdict


def test_a_blocklist_card_is_refused_whoever_holds_it() -> None:
    assert recognise("card", worker(), AT, credential_blocklisted=True) is Verdict.BLOCKLISTED


def test_who_is_named_and_who_gets_in() -> None:
    assert {v for v in Verdict if v.granted} == {Verdict.FACE_PASS, Verdict.CARD_PASS}
    assert not Verdict.STRANGER.identifies and not Verdict.LIVENESS_FAIL.identifies
    assert Verdict.BLOCKLISTED.identifies and Verdict.OUTSIDE_VALIDITY.identifies
