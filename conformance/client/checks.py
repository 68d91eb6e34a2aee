"""The client plan's checks (ids ``CL-…``): each judges the shared e2e observation — what the
gates hold, what reached the platform and how — and, when it fails, says in one sentence what
the vendor should change, above the inspection-log entries that prove it."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from itertools import pairwise
from typing import Any

from conformance.catalogue import CheckSkipped, check, expect
from conformance.client.scenario import ClockIn, Observation, mask, observe
from conformance.client.target import ClientTarget
from conformance.target import Target
from standard import errors, methods
from standard.envelope import BEIJING

E2E = ("e2e",)
BOTH = ("e2e", "passive")  # checks that judge the traffic alone
PLAIN_NUMBER = re.compile(r'"(\w*(?:CardNumber|CardNo))"\s*:\s*"(\d{15,19}|\d{17}[Xx])"')
REFUSED = {-1, -2, -3, -4}
TOO_MANY = errors.too_many(0).split("0")[0]  # the platform's "数量不能超过N!" for a list over its limit

# What the vendor should change when the check fails: one sentence each.
FIXES = {
    "CL-ROSTER-01": "Issue every enrolled worker and their face photo to every gate of the site.",
    "CL-ATT-01": "Upload each clock-in once: keep it in a durable outbox until its async result is 20, "
    "and never queue it twice.",
    "CL-ATT-02": "Upload an entry gate's clock-ins as direction 01 and an exit gate's as 02, "
    "under the project and the worker's own teamSysNo.",
    "CL-ATT-03": "Upload each clock-in as it arrives, within {deadline:g} s of the gate's event.",
    "CL-ATT-04": "Upload only events the gate reports as a recognised face or card pass; "
    "drop strangers and failed liveness checks.",
    "CL-ATT-05": "Keep a gate's replayed events in serial order and upload them after the reconnect.",
    "CL-ENTRY-01": "Upload WorkerEntryExit.Add (type 1) for each worker and wait for its async result "
    "before their attendance.",
    "CL-SIG-01": "Sign the raw parameter values sorted by key (interface.md §3.1), not URL-encoded ones.",
    "CL-ENC-01": "Encrypt idCardNumber and the bank-card numbers with AES under the appsecret before sending "
    "(interface.md §4).",
    "CL-LIM-01": "Split uploads into lists no longer than the method's limit (20 attendance items, 5 workers).",
    "CL-ASYNC-01": "Poll AsyncHandleResult.Query for every requestSerialCode until status 20 or 10; "
    "an accepted write is not yet done.",
    "CL-ASYNC-02": "Read status 10 from AsyncHandleResult.Query and show the failure to the operator "
    "instead of marking the upload done.",
    "CL-RETRY-01": "Keep an upload answered 5xx, -5, a timeout or a reset in the outbox "
    "and send it again with backoff.",
    "CL-RETRY-02": "Back off exponentially between retries (with jitter and a cap) instead of resending at once.",
    "CL-DUR-01": "Commit each clock-in to a durable outbox before acknowledging it to the gate, "
    "and send what is left in it after a restart.",
    "CL-PASSIVE-01": "Drive your system during the passive run: enrol, enter and clock in at least one worker.",
    "CL-RETRY-03": "Do not resend a refused request: show the platform's message "
    "and wait until the data or the credentials are fixed.",
}


def _obs(target: Target) -> tuple[ClientTarget, Observation]:
    if not isinstance(target, ClientTarget):
        raise CheckSkipped("a client check needs the client plan's target")
    return target, observe(target)


def _fail(target: ClientTarget, check_id: str, problems: list[str], evidence: list[dict[str, Any]]) -> None:
    """Fail with what the vendor should change (one sentence), the problems seen, and the
    inspection-log entries that show them as the check's evidence."""
    fix = FIXES[check_id].format(deadline=target.deadline)
    if problems:
        target.cite(evidence, "evidence")
    shown = "\n".join(problems[:8]) + (f"\n… {len(problems) - 8} more" if len(problems) > 8 else "")
    expect(not problems, f"{fix}\n{shown}")


def _items(entry: dict[str, Any]) -> list[dict[str, Any]]:
    data = entry.get("data")
    if not isinstance(data, dict):
        return []
    items = data.get("dataList") or data.get("workerList") or []
    return [i for i in items if isinstance(i, dict)]


def _attendance(obs: Observation, accepted: bool = True) -> list[dict[str, Any]]:
    return [
        e for e in obs.traffic if e.get("method") == "WorkerAttendance.Add" and (not accepted or e.get("code") == 0)
    ]


def _carrying(entries: list[dict[str, Any]], clock_in: ClockIn) -> list[dict[str, Any]]:
    wanted = clock_in.masked
    return [e for e in entries if any((i.get("idCardNumber"), str(i.get("date"))[:19]) == wanted for i in _items(e))]


def _seconds(text: str) -> float:
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)).timestamp()


def _row_key(row: dict[str, Any]) -> tuple[str, str]:
    return str(row.get("idCardNumber") or ""), str(row.get("date") or "")[:19]


@check(
    "CL-ROSTER-01",
    "Every gate holds every worker of the roster with a face.",
    requirement="REQ-CL-ROSTER-01",
    area="client-roster",
    plans=E2E,
)
def roster_on_every_gate(target: Target) -> None:
    t, obs = _obs(target)
    want = len(obs.roster)
    problems = [
        f"{g['id']}: {g['enrolled']} people, {g['faces']} faces of {want} workers"
        for g in obs.gates
        if g["enrolled"] < want or g["faces"] < want
    ]
    _fail(t, "CL-ROSTER-01", problems, [])


@check(
    "CL-ATT-01",
    "Every clock-in a gate accepted is stored at the platform exactly once, with the right worker and time.",
    requirement="REQ-CL-ATT-01",
    area="client-attendance",
    plans=E2E,
)
def stored_exactly_once(target: Target) -> None:
    t, obs = _obs(target)
    counts = Counter(_row_key(r) for r in obs.stored)
    problems = []
    for c in obs.expected:
        n = counts[(c.id_number, c.at)]
        if n != 1:
            problems.append(f"{c.device} #{c.serial_no} ({c.phase}) {mask(c.id_number)} {c.at}: stored {n} times")
    evidence = [
        e for c in obs.expected if counts[(c.id_number, c.at)] != 1 for e in _carrying(_attendance(obs, False), c)
    ]
    _fail(
        t,
        "CL-ATT-01",
        problems,
        evidence,
    )


@check(
    "CL-ATT-02",
    "Each stored clock-in carries the gate's direction, the project and the worker's team.",
    requirement="REQ-CL-ATT-02",
    area="client-attendance",
    plans=E2E,
)
def direction_project_team(target: Target) -> None:
    t, obs = _obs(target)
    teams: dict[str, Any] = {}
    for e in obs.traffic:
        if e.get("method") == "ProjectWorker.Add" and e.get("code") == 0 and isinstance(e.get("data"), dict):
            for w in _items(e):
                teams[str(w.get("idCardNumber"))] = e["data"].get("teamSysNo")
    stored = {_row_key(r): r for r in obs.stored}
    problems, evidence = [], []
    for c in obs.expected:
        row = stored.get((c.id_number, c.at))
        if row is not None and str(row.get("direction")) != c.direction:
            problems.append(
                f"{c.device} ({c.direction}) {mask(c.id_number)} {c.at}: stored direction {row.get('direction')}"
            )
            evidence += _carrying(_attendance(obs), c)
    for e in _attendance(obs):
        data = e.get("data") or {}
        if str(data.get("projectCode")) != t.tenant.projectCode:
            problems.append(f"upload #{e['id']} for project {data.get('projectCode')}, not {t.tenant.projectCode}")
            evidence.append(e)
        for item in _items(e):
            team = teams.get(str(item.get("idCardNumber")))
            if team is not None and team != data.get("teamSysNo"):
                problems.append(
                    f"upload #{e['id']}: {item.get('idCardNumber')} under team {data.get('teamSysNo')}, "
                    f"registered in {team}"
                )
                evidence.append(e)
    _fail(
        t,
        "CL-ATT-02",
        problems,
        evidence,
    )


@check(
    "CL-ATT-03",
    "Each clock-in reaches the platform within the deadline.",
    requirement="REQ-CL-ATT-03",
    area="client-attendance",
    plans=E2E,
)
def within_deadline(target: Target) -> None:
    t, obs = _obs(target)
    accepted = _attendance(obs)
    problems, evidence = [], []
    for c in obs.expected:
        if c in obs.crashed:  # held back by the injected outage and the restart, not by the vendor
            continue
        carrying = _carrying(accepted, c)
        allowance = t.deadline + (obs.offline_for if c in obs.offline else 0.0)
        if not carrying:
            problems.append(
                f"{c.device} #{c.serial_no} {mask(c.id_number)} {c.at}: never uploaded (deadline {t.deadline:g} s)"
            )
            continue
        late = _seconds(str(carrying[0]["at"])) - _seconds(c.at.replace(" ", "T"))
        if late > allowance + 1:
            problems.append(f"{c.device} #{c.serial_no} {mask(c.id_number)} {c.at}: uploaded {late:.0f} s later")
            evidence.append(carrying[0])
    _fail(t, "CL-ATT-03", problems, evidence)


@check(
    "CL-ATT-04",
    "Nothing is uploaded for strangers or failed liveness checks.",
    requirement="REQ-CL-ATT-04",
    area="client-attendance",
    plans=E2E,
)
def no_strangers(target: Target) -> None:
    t, obs = _obs(target)
    known = Counter((c.id_number, c.at) for c in obs.expected + obs.async_failed + obs.refused)
    stored = Counter(_row_key(r) for r in obs.stored)
    # a stranger may be uploaded as someone known: then it is one row more at the stranger's second
    stranger_seconds = {u["at"] for u in obs.unexpected}
    extra_keys = {k for k, n in stored.items() if k not in known or (k[1] in stranger_seconds and n > known[k])}
    extra = [r for r in obs.stored if _row_key(r) in extra_keys]
    problems = [
        f"stored {mask(str(r.get('idCardNumber')))} {r.get('date')} {r.get('direction')}: "
        "no gate recognised this worker then"
        for r in extra
    ]
    if problems:
        problems.append(
            "strangers and spoofs presented: "
            + ", ".join(f"{u['device']} {u['at']} {u['event']}" for u in obs.unexpected)
        )
    wanted = {(mask(str(r.get("idCardNumber"))), str(r.get("date"))[:19]) for r in extra}
    evidence = [
        e
        for e in _attendance(obs)
        if any((i.get("idCardNumber"), str(i.get("date"))[:19]) in wanted for i in _items(e))
    ]
    _fail(t, "CL-ATT-04", problems, evidence)


@check(
    "CL-ATT-05",
    "A gate's offline backlog is uploaded after it reconnects, in the gate's order.",
    requirement="REQ-CL-ATT-05",
    area="client-attendance",
    plans=E2E,
)
def backlog_in_order(target: Target) -> None:
    t, obs = _obs(target)
    if not obs.offline:
        raise CheckSkipped("no clock-in was presented while a gate was offline")
    accepted = _attendance(obs)
    firsts = []
    problems = []
    for c in obs.offline:
        carrying = _carrying(accepted, c)
        if not carrying:
            problems.append(f"{c.device} #{c.serial_no} {mask(c.id_number)} {c.at}: never uploaded")
        else:
            firsts.append((int(carrying[0]["id"]), c.serial_no, carrying[0]))
    order = [s for _, s, _e in sorted(firsts, key=lambda x: (x[0], x[1]))]
    if order != sorted(order):
        problems.append(f"uploaded in serial order {order}, not {sorted(order)}")
    _fail(
        t,
        "CL-ATT-05",
        problems,
        [e for *_, e in firsts],
    )


@check(
    "CL-ENTRY-01",
    "Each worker's entry record is accepted before their first attendance upload.",
    requirement="REQ-CL-ENTRY-01",
    area="client-order",
    plans=BOTH,
)
def entry_before_attendance(target: Target) -> None:
    t, obs = _obs(target)
    entered: dict[str, int] = {}
    for e in obs.traffic:
        if e.get("method") == "WorkerEntryExit.Add" and e.get("code") == 0:
            for w in _items(e):
                if str(w.get("type", "1")) == "1":
                    entered.setdefault(str(w.get("idCardNumber")), int(e["id"]))
    problems, evidence = [], []
    for e in _attendance(obs, accepted=False):
        for item in _items(e):
            who = str(item.get("idCardNumber"))
            if entered.get(who, 1 << 62) > int(e["id"]):
                problems.append(
                    f"upload #{e['id']}: attendance of {who} before any entry record (WorkerEntryExit.Add type 1)"
                )
                evidence.append(e)
                break
    _fail(
        t,
        "CL-ENTRY-01",
        problems,
        evidence,
    )


@check(
    "CL-SIG-01",
    "Every request the vendor sends is signed right.",
    requirement="REQ-CL-SIG-01",
    area="client-wire",
    plans=BOTH,
)
def signed_right(target: Target) -> None:
    t, obs = _obs(target)
    bad = [e for e in obs.traffic if e.get("code") == -2 and int(e["id"]) <= obs.rotated_after_id]
    problems = [f"#{e['id']} {e.get('method')}: {e.get('message')}" for e in bad]
    _fail(t, "CL-SIG-01", problems, bad)


@check(
    "CL-ENC-01",
    "Every field the standard encrypts (ID and bank-card numbers) is sent encrypted.",
    requirement="REQ-CL-ENC-01",
    area="client-wire",
    plans=BOTH,
)
def encrypted(target: Target) -> None:
    t, obs = _obs(target)
    bad, problems = [], []
    for e in obs.traffic:
        if m := PLAIN_NUMBER.search(str((e.get("form") or {}).get("data") or "")):
            bad.append(e)
            problems.append(f"#{e['id']} {e.get('method')}: {m.group(1)} in plaintext")
    _fail(
        t,
        "CL-ENC-01",
        problems,
        bad,
    )


@check(
    "CL-LIM-01",
    "No request carries a longer list than its method allows.",
    requirement="REQ-CL-LIM-01",
    area="client-wire",
    plans=BOTH,
)
def list_limits(target: Target) -> None:
    t, obs = _obs(target)
    problems, evidence = [], []
    for e in obs.traffic:
        spec = methods.get(str(e.get("method")))
        if spec is None or spec.list_limit is None:
            continue
        raw = str((e.get("form") or {}).get("data") or "")
        sizes = (
            [len(v) for v in (e.get("data") or {}).values() if isinstance(v, list)]
            if isinstance(e.get("data"), dict)
            else []
        )
        over = max(sizes, default=0) > spec.list_limit or (TOO_MANY in str(e.get("message")))
        if over:
            problems.append(
                f"#{e['id']} {e.get('method')}: {max(sizes, default=0) or raw.count('idCardNumber')} items, "
                f"at most {spec.list_limit}: {e.get('message')}"
            )
            evidence.append(e)
    _fail(
        t,
        "CL-LIM-01",
        problems,
        evidence,
    )


@check(
    "CL-ASYNC-01",
    "Every accepted write is polled (AsyncHandleResult.Query) until its final status.",
    requirement="REQ-CL-ASYNC-01",
    area="client-async",
    plans=BOTH,
)
def every_serial_polled(target: Target) -> None:
    t, obs = _obs(target)
    final = {
        str(e.get("serial"))
        for e in obs.traffic
        if e.get("method") == "AsyncHandleResult.Query" and e.get("async_status") in (10, 20)
    }
    writes = [
        e
        for e in obs.traffic
        if e.get("code") == 0
        and e.get("serial")
        and (spec := methods.get(str(e.get("method")))) is not None
        and spec.kind == "write"
    ]
    # after the secret is rotated the vendor's polls are refused: judge the writes before it
    unpolled = [e for e in writes if str(e["serial"]) not in final and int(e["id"]) <= obs.rotated_after_id]
    problems = [f"#{e['id']} {e.get('method')} serial {e['serial']}: never polled to a final status" for e in unpolled]
    _fail(
        t,
        "CL-ASYNC-01",
        problems,
        unpolled,
    )


@check(
    "CL-ASYNC-02",
    "An upload the platform fails asynchronously (status 10) is polled to that failure, not taken for done.",
    requirement="REQ-CL-ASYNC-02",
    area="client-async",
    plans=E2E,
)
def failure_surfaced(target: Target) -> None:
    t, obs = _obs(target)
    if not obs.async_failed:
        raise CheckSkipped("no upload was failed asynchronously")
    seen = [e for e in obs.traffic if e.get("method") == "AsyncHandleResult.Query" and e.get("async_status") == 10]
    problems = [] if seen else ["no AsyncHandleResult.Query answered status 10 although the platform failed an upload"]
    _fail(
        t,
        "CL-ASYNC-02",
        problems,
        _attendance(obs, False)[-3:],
    )


@check(
    "CL-RETRY-01",
    "An upload answered 5xx is sent again and stored.",
    requirement="REQ-CL-RETRY-01",
    area="client-retry",
    plans=E2E,
)
def retried_after_5xx(target: Target) -> None:
    t, obs = _obs(target)
    stored = {_row_key(r) for r in obs.stored}
    problems = [
        f"{c.device} #{c.serial_no} {mask(c.id_number)} {c.at}: never stored after the 503"
        for c in obs.faulted
        if (c.id_number, c.at) not in stored
    ]
    evidence = [e for c in obs.faulted for e in _carrying(_attendance(obs, False), c)]
    _fail(
        t,
        "CL-RETRY-01",
        problems,
        evidence,
    )


@check(
    "CL-RETRY-02",
    "Retries back off: no request is sent again and again within moments.",
    requirement="REQ-CL-RETRY-02",
    area="client-retry",
    plans=BOTH,
)
def no_retry_storm(target: Target) -> None:
    t, obs = _obs(target)
    sends: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in obs.traffic:
        if e.get("method") != "AsyncHandleResult.Query" and not str(e.get("method", "")).endswith(".Query"):
            sends.setdefault((str(e.get("method")), str((e.get("form") or {}).get("data"))), []).append(e)
    problems, evidence = [], []
    for (method, _), group in sends.items():
        if len(group) < 4:
            continue
        span = _seconds(str(group[-1]["at"])) - _seconds(str(group[0]["at"]))
        if span < 2 ** (len(group) - 2) * 0.1:
            problems.append(f"{method} sent {len(group)} times within {span:.1f} s")
            evidence += group
    _fail(
        t,
        "CL-RETRY-02",
        problems,
        evidence,
    )


@check(
    "CL-RETRY-03",
    "A refused request (code -1 to -4) is not sent again unchanged.",
    requirement="REQ-CL-RETRY-03",
    area="client-retry",
    plans=BOTH,
)
def no_retry_of_refusals(target: Target) -> None:
    t, obs = _obs(target)
    refused = [e for e in obs.traffic if e.get("code") in REFUSED]
    refusals = Counter((str(e.get("method")), str((e.get("form") or {}).get("data"))) for e in refused)
    repeated = {k: n for k, n in refusals.items() if n > 2 and not _held_as_future(k, refused)}
    evidence = [e for e in obs.traffic if (str(e.get("method")), str((e.get("form") or {}).get("data"))) in repeated]
    problems = [f"{method} refused {n} times with the same data" for (method, _), n in repeated.items()]
    _fail(
        t,
        "CL-RETRY-03",
        problems,
        evidence,
    )


def _held_as_future(key: tuple[str, str], refused: list[dict[str, Any]]) -> bool:
    """Refused only as later than the platform's now, and sent again at least a second apart: the
    platform's clock decides, so a record stamped by a clock a little ahead may be held and re-sent."""
    sends = [e for e in refused if (str(e.get("method")), str((e.get("form") or {}).get("data"))) == key]
    if not all(errors.only_future_now(str(e.get("message") or "")) for e in sends):
        return False
    times = [_seconds(str(e["at"])) for e in sends]
    return all(later - earlier >= 1.0 for earlier, later in pairwise(times))


@check(
    "CL-DUR-01",
    "A clock-in acknowledged to the gate survives a restart of the vendor's system.",
    requirement="REQ-CL-DUR-01",
    area="client-durability",
    plans=E2E,
)
def survives_restart(target: Target) -> None:
    t, obs = _obs(target)
    if t.restart is None:
        raise CheckSkipped("no way to restart the vendor's system was given (--restart-command)")
    stored = {_row_key(r) for r in obs.stored}
    problems = [
        f"{c.device} #{c.serial_no} {mask(c.id_number)} {c.at}: acknowledged before the restart, never stored"
        for c in obs.crashed
        if (c.id_number, c.at) not in stored
    ]
    _fail(t, "CL-DUR-01", problems, [])


# The methods a site's system uses, in the order it needs them (interface.md §10.1).
CHECKLIST = (
    "ProjectSubContractor.Add",
    "Team.Add",
    "ProjectWorker.Add",
    "WorkerEntryExit.Add",
    "WorkerContract.Add",
    "WorkerAttendance.Add",
    "AsyncHandleResult.Query",
)


@check(
    "CL-PASSIVE-01",
    "During the passive run the system sent the site's uploads (workers, entry, attendance) and polled their results.",
    requirement="REQ-CL-PASSIVE-01",
    area="client-passive",
    plans=("passive",),
)
def methods_exercised(target: Target) -> None:
    t, obs = _obs(target)
    sent = Counter(str(e.get("method")) for e in obs.traffic)
    accepted = Counter(str(e.get("method")) for e in obs.traffic if e.get("code") == 0)
    lines = [f"[{'x' if accepted[m] else ' '}] {m}: {sent[m]} sent, {accepted[m]} accepted" for m in CHECKLIST]
    lines += [f"[x] {m}: {n} sent (not on the checklist)" for m, n in sorted(sent.items()) if m not in CHECKLIST]
    t.cache["checklist"] = lines
    missing = [m for m in ("ProjectWorker.Add", "WorkerEntryExit.Add", "WorkerAttendance.Add") if not accepted[m]]
    _fail(t, "CL-PASSIVE-01", [f"never accepted: {', '.join(missing)}", *lines] if missing else [], [])
