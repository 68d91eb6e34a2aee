"""The e2e scenario: drive the site's gates and the platform's faults phase by phase, then
collect what the platform saw (inspection log, stored attendance) for the checks to judge.

Each phase presents faces and waits until the platform has stored what it expects, no longer
than the deadline; the run is driven once and its observation shared by every check."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from conformance.client.target import ClientTarget
from standard.envelope import BEIJING

DIRECTIONS = {"in": "01", "out": "02"}


@dataclass(frozen=True)
class ClockIn:
    """One event a gate reported as a recognised worker (what the vendor must upload)."""

    phase: str
    device: str
    serial_no: int
    id_number: str
    at: str  # Beijing time to the second, as the platform stores it
    direction: str  # 01 / 02
    team: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.id_number, self.at, self.direction

    @property
    def masked(self) -> tuple[str, str]:
        return mask(self.id_number), self.at


@dataclass
class Observation:
    roster: list[dict[str, Any]]
    gates: list[dict[str, Any]]  # each gate's status once the roster wait ended
    expected: list[ClockIn] = field(default_factory=list)  # must be stored exactly once
    unexpected: list[dict[str, Any]] = field(default_factory=list)  # strangers, spoofs: never uploaded
    offline: list[ClockIn] = field(default_factory=list)  # presented while the gate was offline
    faulted: list[ClockIn] = field(default_factory=list)  # presented while a 503 was injected
    async_failed: list[ClockIn] = field(default_factory=list)  # their upload's async result forced to 10
    refused: list[ClockIn] = field(default_factory=list)  # uploaded with a wrong secret (answered -2)
    crashed: list[ClockIn] = field(default_factory=list)  # acknowledged just before the vendor restarted
    stored: list[dict[str, Any]] = field(default_factory=list)  # WorkerAttendance.Query rows
    traffic: list[dict[str, Any]] = field(default_factory=list)  # the tenant's inspection log
    roster_wait_s: float = 0.0
    offline_for: float = 0.0  # seconds the gate was offline (its backlog may be that much later)
    rotated_after_id: int = 1 << 62  # the last inspection-log id before the secret was rotated
    notes: list[str] = field(default_factory=list)


def mask(number: str) -> str:
    """As the inspection log masks ID numbers (first four, last four)."""
    return number if len(number) <= 8 else number[:4] + "*" * (len(number) - 8) + number[-4:]


def observe(target: ClientTarget) -> Observation:
    """Drive the scenario once per run (the checks share it)."""
    cached = target.cache.get("observation")
    if isinstance(cached, Observation):
        return cached
    if isinstance(cached, Exception):  # the drive broke once: every check says so, none drives again
        raise RuntimeError(f"the e2e scenario could not be driven: {cached}")
    try:
        obs = _listen(target) if target.plan == "passive" else _drive(target)
    except Exception as exc:
        target.cache["observation"] = exc
        raise
    target.cache["observation"] = obs
    return obs


def _gates(target: ClientTarget) -> list[dict[str, Any]]:
    return list(target.device("GET", "/devices")["devices"])


def _roster(target: ClientTarget) -> list[dict[str, Any]]:
    return list(target.device("GET", "/roster?limit=1000")["workers"])


def _until(condition: Any, timeout: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)


def _stored(target: ClientTarget, days: Iterable[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with target.platform() as client:
        for day in sorted(set(days)):
            query = {"projectCode": target.tenant.projectCode, "date": day}
            rows.extend(client.query_all("WorkerAttendance.Query", query))
    return rows


def _present(
    target: ClientTarget, obs: Observation, phase: str, gate: dict[str, Any], index: int, **extra: Any
) -> ClockIn | None:
    body: dict[str, Any] = {"worker_index": index} if index >= 0 else {"stranger": True}
    body.update(extra)
    answer = target.device("POST", f"/devices/{gate['id']}/present-face", body)
    event = answer.get("event") if isinstance(answer, dict) else None
    if not event:
        obs.notes.append(f"{gate['id']} reported no event for {body}")
        return None
    at = datetime.fromisoformat(str(event["at"])).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    if index < 0 or extra.get("spoof"):
        obs.unexpected.append({"phase": phase, "device": gate["id"], "at": at, "event": event.get("event")})
        return None
    worker = obs.roster[index]
    clock_in = ClockIn(
        phase,
        str(gate["id"]),
        int(event.get("serial_no") or 0),
        str(worker["id_number"]),
        at,
        DIRECTIONS[str(gate["direction"])],
        str(worker.get("team") or ""),
    )
    obs.expected.append(clock_in)
    return clock_in


def _drive(target: ClientTarget) -> Observation:
    target.admin("DELETE", "/faults")
    roster = _roster(target)
    started = time.monotonic()

    def issued() -> bool:
        return all(g["enrolled"] >= len(roster) and g["faces"] >= len(roster) for g in _gates(target))

    _until(issued, target.deadline, 0.5)
    _until(lambda: _quiet(target), target.deadline, 0.5)  # enrolment (entry records…) finished
    obs = Observation(roster, _gates(target), roster_wait_s=time.monotonic() - started)
    gates = {g["id"]: g for g in obs.gates}
    ins = [g for g in obs.gates if g["direction"] == "in"]
    outs = [g for g in obs.gates if g["direction"] == "out"]
    if not roster or not ins or not outs:
        obs.notes.append("the site needs workers, an entry gate and an exit gate")
        return _collect(target, obs)
    entry, exit_ = ins[0], outs[0]
    days = {target.now().strftime("%Y-%m-%d")}

    def arrived(clock_ins: list[ClockIn]) -> bool:
        have = {_row_key(r) for r in _stored(target, days | {c.at[:10] for c in clock_ins})}
        return all(c.key in have for c in clock_ins)

    def phase(clock_ins: list[ClockIn]) -> None:
        _until(lambda: arrived(clock_ins), target.deadline, 0.5)

    # 1. a busy morning: every worker of the first team in and out, the platform slow at first so
    # that more than a list's worth piles up; a stranger and a photo held up to the camera.
    team = [i for i, w in enumerate(roster) if w.get("team") == roster[0].get("team")] or [0]
    target.admin(
        "POST", "/faults", {"kind": "latency", "method": "WorkerAttendance.Add", "count": 1, "latency_ms": 4000}
    )
    rush: list[ClockIn] = []
    for round_, gate in enumerate([entry, exit_, ins[-1]]):
        if round_:
            time.sleep(1.1)  # one worker's clock-ins a second apart
        rush += [c for i in team if (c := _present(target, obs, "rush", gate, i))]
    time.sleep(1.1)  # the stranger's second is nobody else's
    _present(target, obs, "rush", entry, -1)
    _present(target, obs, "rush", entry, (team[-1] + 1) % len(roster), spoof=True)
    phase(rush)

    # 2. the platform answers 503 once: retried, stored once.
    target.admin("POST", "/faults", {"kind": "http_error", "method": "WorkerAttendance.Add", "count": 1, "status": 503})
    obs.faulted = [c for c in [_present(target, obs, "5xx", entry, 0)] if c]
    phase(obs.faulted)
    target.admin("DELETE", "/faults")

    # 3. the second entry gate's 4G drops: its backlog is replayed on reconnect, in order.
    offline_gate = gates.get(ins[-1]["id"], entry)
    target.device("POST", f"/devices/{offline_gate['id']}/network-drop", {"seconds": 30})
    dropped = time.monotonic()
    for i in range(len(roster) - 1, max(len(roster) - 4, -1), -1):  # workers no other phase uses
        obs.offline += [c for c in [_present(target, obs, "offline", offline_gate, i)] if c]
        time.sleep(1.1)
    target.device("POST", f"/devices/{offline_gate['id']}/network-restore", {})
    obs.offline_for = time.monotonic() - dropped
    phase(obs.offline)

    # 4. the platform fails an upload asynchronously (status 10): the serial must be polled to it.
    target.admin("POST", "/faults", {"kind": "async_fail", "method": "WorkerAttendance.Add", "count": 1})
    failing = [c for c in [_present(target, obs, "async-fail", exit_, 1 % len(roster))] if c]
    obs.async_failed = failing
    for c in failing:
        obs.expected.remove(c)
    _until(lambda: any(e.get("async_status") == 10 for e in target.traffic()), min(target.deadline, 15.0), 0.5)
    target.admin("DELETE", "/faults")

    # 5. the vendor's system crashes while the platform is down: what it acknowledged survives.
    if target.restart is not None:
        target.admin("POST", "/faults", {"kind": "http_error", "method": "WorkerAttendance.Add"})
        before = {g["id"]: g["delivered"] for g in _gates(target)}
        obs.crashed = [c for c in [_present(target, obs, "restart", exit_, 3 % len(roster))] if c]
        _until(lambda: any(g["delivered"] > before.get(g["id"], 0) for g in _gates(target)), 10.0, 0.2)
        time.sleep(0.5)
        target.restart()
        target.admin("DELETE", "/faults")
        phase(obs.crashed)

    # 6. the platform refuses the tenant's signature (its secret rotated): never sent again and again.
    obs.rotated_after_id = max((int(e["id"]) for e in target.traffic()), default=0)
    _until(lambda: not _unpolled(target.traffic(), obs.rotated_after_id), min(target.deadline, 15.0), 0.5)
    rotated = target.admin("POST", f"/tenants/{target.tenant.appid}/rotate")
    refused = [c for c in [_present(target, obs, "refused", entry, 2 % len(roster))] if c]
    obs.refused = refused
    for c in refused:
        obs.expected.remove(c)
    _until(lambda: any(e.get("code") == -2 for e in target.traffic()), min(target.deadline, 15.0), 0.5)
    time.sleep(target.settle)  # long enough for a storm to show
    if isinstance(rotated, dict) and rotated.get("appsecret"):
        target.tenant = replace(target.tenant, appsecret=str(rotated["appsecret"]))
    return _collect(target, obs)


def _collect(target: ClientTarget, obs: Observation) -> Observation:
    days = {c.at[:10] for c in obs.expected + obs.refused + obs.async_failed} | {target.now().strftime("%Y-%m-%d")}
    obs.stored = _stored(target, days)
    obs.traffic = target.traffic()
    return obs


def _row_key(row: dict[str, Any]) -> tuple[str, str, str]:
    return str(row.get("idCardNumber") or ""), str(row.get("date") or "")[:19], str(row.get("direction") or "")


def _unpolled(traffic: list[dict[str, Any]], up_to: int) -> list[str]:
    """Serials of accepted writes (up to inspection-log id ``up_to``) not yet polled to a final status."""
    final = {str(e.get("serial")) for e in traffic if e.get("async_status") in (10, 20)}
    writes = [
        e for e in traffic if e.get("code") == 0 and e.get("serial") and e.get("method") != "AsyncHandleResult.Query"
    ]
    return [
        str(e["serial"])
        for e in writes
        if str(e["serial"]) not in final and not str(e.get("method")).endswith(".Query")
    ]


def _quiet(target: ClientTarget) -> bool:
    """No request from the tenant for ``settle`` seconds (of the platform's clock)."""
    traffic = target.traffic()
    if not traffic:
        return False
    now = datetime.fromisoformat(str(target.admin("GET", "/clock")["now"])).timestamp()
    return now - datetime.fromisoformat(str(traffic[-1]["at"])).timestamp() >= min(target.settle, 2.0)


def _listen(target: ClientTarget) -> Observation:
    """The passive plan: the vendor drives its own system for ``duration`` seconds while the
    harness only records what the tenant sends."""
    since = max((int(e["id"]) for e in target.traffic()), default=0)
    deadline = time.monotonic() + target.duration
    while time.monotonic() < deadline:
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    obs = Observation([], [])
    obs.traffic = [e for e in target.traffic() if int(e["id"]) > since]
    return obs
