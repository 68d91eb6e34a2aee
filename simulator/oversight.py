"""What a bureau looks for, computed from the store: per region, its projects and participating
corps, who is on site today, clock-ins per hour, each project's integration health, and the
compliance flags of the seed notice (in scope but not uploading, no gate attendance, late uploads,
suspected falsification), each with the records behind it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, literal, literal_column, or_, select

from simulator.clock import Clock
from simulator.store import Store, attendance, entry_exits, jobs, projects, subcontractors, tenant_projects, workers
from simulator.traffic import TrafficLog, mask_number
from standard.data_files import load_json
from standard.envelope import BEIJING

# attendType codes that come from a gate or reader (007 exception clearance, 009 emergency channel
# and 011 other do not).
GATE_TYPES = ("001", "002", "003", "004", "005", "006", "008", "010")

# Literal SQL (no bound parameters), so that PostgreSQL sees the GROUP BY expression as the same one.
HOUR: ColumnElement[str] = literal_column("substr(attendance.moment, 12, 2)")

FLAG_TITLES = {
    "not-uploading": "In scope but not uploading",
    "no-gate-attendance": "No gate attendance",
    "late-uploads": "Late uploads",
    "two-sites": "Same worker at two projects within an impossible interval",
    "no-entry-record": "Attendance without an entry record or after exit",
    "same-second": "Identical timestamps across a team",
    "shared-photo": "The same photo for different workers",
}


@dataclass(frozen=True)
class OversightSettings:
    late_after_s: int = 3600  # a clock-in uploaded more than this after it happened is late
    late_share_flag: float = 0.10  # flag a project when more than this share of its clock-ins is late
    lookback_days: int = 7  # "recent" for health and flags
    in_scope_min_invest: float = 400.0  # 万元: the notice's 4,000,000 CNY contract price
    impossible_interval_s: int = 1800  # clock-ins at two projects closer than this cannot both be true
    same_second_min_workers: int = 3  # this many of a team clocked at the very same second


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    slug: str | None
    level: str
    parent: str | None
    alt_codes: tuple[str, ...] = ()

    def covers(self) -> ColumnElement[bool]:
        col = projects.c.area_code
        if self.level == "national":
            return literal(True)
        if self.level == "province":
            return col.like(self.code[:2] + "%")
        if self.level == "city":
            return col.like(self.code[:4] + "%")
        return col.in_((self.code, *self.alt_codes))

    def contains(self, area: str | None) -> bool:
        """The same test as ``covers``, for an area code in hand."""
        if not area:
            return False
        if self.level == "national":
            return True
        if self.level == "province":
            return area[:2] == self.code[:2]
        if self.level == "city":
            return area[:4] == self.code[:4]
        return area in (self.code, *self.alt_codes)


def regions() -> list[Region]:
    return [
        Region(r["code"], r["name"], r.get("slug"), r["level"], r.get("parent"), tuple(r.get("alt_codes", ())))
        for r in load_json("regions.json")["regions"]
    ]


@dataclass
class ProjectHealth:
    code: str
    name: str
    area_code: str
    contractor: str
    in_scope: bool
    workers: int = 0
    on_site_today: int = 0
    clock_ins_recent: int = 0
    last_upload: str | None = None
    late_share: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)  # response code → count (this process's log)
    requests: int = 0
    flags: list[str] = field(default_factory=list)


@dataclass
class RegionView:
    region: Region
    today: str
    projects: list[ProjectHealth]
    corps: list[dict[str, Any]]
    on_site_today: int
    hourly: list[int]  # clock-ins (direction 01) per hour of today
    flags: list[dict[str, Any]]  # {kind, title, project, count}


class Oversight:
    def __init__(self, store: Store, clock: Clock, traffic: TrafficLog, settings: OversightSettings | None = None):
        self.store = store
        self.clock = clock
        self.traffic = traffic
        self.settings = settings or OversightSettings()
        self.regions = regions()
        self.by_slug = {r.slug: r for r in self.regions if r.slug}

    # -- views ---------------------------------------------------------------------------------
    def national(self) -> list[dict[str, Any]]:
        """Every region of the registry with its project count and today's figures."""
        today = self.clock.now().strftime("%Y-%m-%d")
        with self.store.read() as conn:
            per_area: dict[str, int] = {
                str(a): int(n)
                for a, n in conn.execute(select(projects.c.area_code, func.count()).group_by(projects.c.area_code))
            }
            on_site: dict[str, int] = {
                str(a): int(n)
                for a, n in conn.execute(
                    select(projects.c.area_code, func.count(distinct(attendance.c.id_number)))
                    .join(projects, projects.c.project_code == attendance.c.project_code)
                    .where(attendance.c.day == today)
                    .group_by(projects.c.area_code)
                )
            }
        out = []
        for r in self.regions:
            if r.level == "national":
                continue
            codes = [a for a in per_area if r.contains(a)]
            out.append(
                {
                    "region": r,
                    "projects": sum(per_area[a] for a in codes),
                    "on_site_today": sum(on_site.get(a, 0) for a in codes),
                }
            )
        return out

    def region(self, region: Region) -> RegionView:
        s = self.settings
        now = self.clock.now()
        today = now.strftime("%Y-%m-%d")
        since_day = (now - timedelta(days=s.lookback_days)).strftime("%Y-%m-%d")
        with self.store.read() as conn:
            rows = conn.execute(
                select(projects.c.project_code, projects.c.area_code, projects.c.body).where(region.covers())
            ).all()
            health = {
                r.project_code: ProjectHealth(
                    code=r.project_code,
                    name=str(r.body.get("name", "")),
                    area_code=r.area_code or "",
                    contractor=str(r.body.get("contractorCorpName", "")),
                    in_scope=_in_scope(r.body, s.in_scope_min_invest),
                )
                for r in rows
            }
            codes = list(health)
            corps = [
                dict(b)
                for (b,) in conn.execute(
                    select(subcontractors.c.body).where(subcontractors.c.project_code.in_(codes))
                ).all()
            ]
            for code, n in conn.execute(
                select(workers.c.project_code, func.count())
                .where(workers.c.project_code.in_(codes))
                .group_by(workers.c.project_code)
            ).all():
                health[code].workers = n
            for code, n in conn.execute(
                select(attendance.c.project_code, func.count(distinct(attendance.c.id_number)))
                .where(attendance.c.project_code.in_(codes), attendance.c.day == today)
                .group_by(attendance.c.project_code)
            ).all():
                health[code].on_site_today = n
            hourly = [0] * 24
            for hour, n in conn.execute(
                select(HOUR, func.count())
                .where(attendance.c.project_code.in_(codes), attendance.c.day == today, attendance.c.direction == "01")
                .group_by(HOUR)
            ).all():
                if str(hour).isdigit() and int(hour) < 24:
                    hourly[int(hour)] = n
            late = func.sum(case((attendance.c.received_s - attendance.c.at_s > s.late_after_s, 1), else_=0))
            gate = func.sum(case((attendance.c.attend_type.in_(GATE_TYPES), 1), else_=0))
            for code, n, late_n, gate_n, last in conn.execute(
                select(attendance.c.project_code, func.count(), late, gate, func.max(attendance.c.received_s))
                .where(attendance.c.project_code.in_(codes), attendance.c.day >= since_day)
                .group_by(attendance.c.project_code)
            ).all():
                h = health[code]
                h.clock_ins_recent = n
                h.late_share = (late_n or 0) / n if n else 0.0
                h.last_upload = _when(last)
                if (gate_n or 0) == 0:
                    h.flags.append("no-gate-attendance")
            self._last_jobs(conn, health)
        self._errors(health)
        flags: list[dict[str, Any]] = []
        for h in health.values():
            if h.in_scope and h.clock_ins_recent == 0 and h.workers == 0 and h.requests == 0:
                h.flags.append("not-uploading")
            elif h.in_scope and h.clock_ins_recent == 0 and "no-gate-attendance" not in h.flags:
                h.flags.append("no-gate-attendance")
            if h.clock_ins_recent and h.late_share > s.late_share_flag:
                h.flags.append("late-uploads")
        for kind, per_project in self.falsification(codes, since_day).items():
            for code in per_project:
                health[code].flags.append(kind)
        for h in health.values():
            for kind in h.flags:
                flags.append({"kind": kind, "title": FLAG_TITLES[kind], "project": h.code, "name": h.name})
        return RegionView(
            region=region,
            today=today,
            projects=sorted(health.values(), key=lambda h: h.code),
            corps=corps,
            on_site_today=sum(h.on_site_today for h in health.values()),
            hourly=hourly,
            flags=flags,
        )

    # -- falsification -------------------------------------------------------------------------
    def falsification(self, codes: list[str], since_day: str) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Suspected falsification per kind → project → the records behind it."""
        s = self.settings
        found: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        if not codes:
            return found
        a = attendance
        recent = and_(a.c.project_code.in_(codes), a.c.day >= since_day)
        with self.store.read() as conn:
            # The same worker clocked at two projects closer in time than anyone can travel. Only
            # workers seen at two projects at all are candidates (the window function is costly).
            seen_at: dict[str, set[str]] = defaultdict(set)
            for number, code in conn.execute(
                # not DISTINCT: SQLite would then scan the wrong index; the covering range is fast
                select(a.c.id_number, a.c.project_code).where(a.c.day >= since_day)
            ):
                seen_at[number].add(code)
            in_region = set(codes)
            travellers = [n for n, at in seen_at.items() if len(at) > 1 and at & in_region]
            lagged = (
                select(
                    a.c.id,
                    a.c.id_number,
                    a.c.project_code,
                    a.c.moment,
                    a.c.at_s,
                    func.lag(a.c.project_code).over(partition_by=a.c.id_number, order_by=a.c.at_s).label("prev_p"),
                    func.lag(a.c.at_s).over(partition_by=a.c.id_number, order_by=a.c.at_s).label("prev_s"),
                    func.lag(a.c.moment).over(partition_by=a.c.id_number, order_by=a.c.at_s).label("prev_m"),
                )
                .where(a.c.day >= since_day, a.c.id_number.in_(travellers))
                .subquery()
            )
            for r in conn.execute(
                select(lagged).where(
                    lagged.c.prev_p.is_not(None),
                    lagged.c.prev_p != lagged.c.project_code,
                    lagged.c.at_s - lagged.c.prev_s < s.impossible_interval_s,
                )
            ).all():
                record = {
                    "worker": mask_number(r.id_number),
                    "at": r.moment,
                    "project": r.project_code,
                    "other_project": r.prev_p,
                    "other_at": r.prev_m,
                }
                for code in (r.project_code, r.prev_p):
                    if code in codes:
                        found["two-sites"][code].append(record)
            # Attendance for a worker with no entry record, before it, or after a later exit.
            entered = (
                select(
                    entry_exits.c.project_code,
                    entry_exits.c.id_number,
                    func.min(func.nullif(_when_type(1), "")).label("first_in"),
                    func.max(func.nullif(_when_type(1), "")).label("last_in"),
                    func.max(func.nullif(_when_type(0), "")).label("last_out"),
                )
                .where(entry_exits.c.project_code.in_(codes))
                .group_by(entry_exits.c.project_code, entry_exits.c.id_number)
                .subquery()
            )
            worked = (
                select(
                    a.c.project_code,
                    a.c.id_number,
                    func.min(a.c.day).label("first"),
                    func.max(a.c.day).label("last"),
                    func.count().label("n"),
                )
                .where(recent)
                .group_by(a.c.project_code, a.c.id_number)
                .subquery()
            )
            for r in conn.execute(
                select(worked, entered.c.first_in, entered.c.last_in, entered.c.last_out)
                .select_from(
                    worked.outerjoin(
                        entered,
                        and_(
                            entered.c.project_code == worked.c.project_code, entered.c.id_number == worked.c.id_number
                        ),
                    )
                )
                .where(
                    or_(
                        entered.c.first_in.is_(None),
                        worked.c.first < entered.c.first_in,
                        and_(
                            entered.c.last_out.is_not(None),
                            entered.c.last_out >= entered.c.last_in,
                            worked.c.last > entered.c.last_out,
                        ),
                    )
                )
            ).all():
                why = (
                    "no entry record"
                    if r.first_in is None
                    else ("attendance before entry" if r.first < r.first_in else "attendance after exit")
                )
                found["no-entry-record"][r.project_code].append(
                    {
                        "worker": mask_number(r.id_number),
                        "why": why,
                        "first": r.first,
                        "last": r.last,
                        "records": r.n,
                        "entered": r.first_in,
                        "exited": r.last_out,
                    }
                )
            # Several workers of a team clocked at the very same second.
            for r in conn.execute(
                select(a.c.project_code, a.c.team_sys_no, a.c.moment, func.count(distinct(a.c.id_number)).label("n"))
                .where(recent)
                .group_by(a.c.project_code, a.c.team_sys_no, a.c.moment)
                .having(func.count(distinct(a.c.id_number)) >= s.same_second_min_workers)
            ).all():
                found["same-second"][r.project_code].append({"team": r.team_sys_no, "at": r.moment, "workers": r.n})
            # One photo for different workers.
            shared = (
                select(a.c.image_hash)
                .where(recent, a.c.image_hash.is_not(None))
                .group_by(a.c.image_hash)
                .having(func.count(distinct(a.c.id_number)) > 1)
            )
            by_hash: dict[str, list[Any]] = defaultdict(list)
            for r in conn.execute(
                select(a.c.project_code, a.c.id_number, a.c.moment, a.c.image_hash).where(
                    recent, a.c.image_hash.in_(shared)
                )
            ).all():
                by_hash[r.image_hash].append(r)
            for digest, rows in by_hash.items():
                for code, n in Counter(r.project_code for r in rows).items():
                    found["shared-photo"][code].append(
                        {
                            "photo": digest[:12],
                            "workers": sorted({mask_number(r.id_number) for r in rows}),
                            "records": n,
                            "first": min(r.moment for r in rows),
                        }
                    )
        return found

    def flag_records(self, region: Region, kind: str, project: str) -> list[dict[str, Any]]:
        """The records behind one flag of one project."""
        with self.store.read() as conn:
            known = conn.execute(
                select(projects.c.project_code).where(projects.c.project_code == project, region.covers())
            ).first()
        if known is None:
            return []
        s = self.settings
        since_day = (self.clock.now() - timedelta(days=s.lookback_days)).strftime("%Y-%m-%d")
        if kind in ("two-sites", "no-entry-record", "same-second", "shared-photo"):
            return self.falsification([project], since_day).get(kind, {}).get(project, [])
        a = attendance
        with self.store.read() as conn:
            if kind == "late-uploads":
                rows = conn.execute(
                    select(a.c.id_number, a.c.moment, a.c.received_s, a.c.at_s)
                    .where(
                        a.c.project_code == project, a.c.day >= since_day, a.c.received_s - a.c.at_s > s.late_after_s
                    )
                    .order_by(a.c.at_s.desc())
                    .limit(500)
                ).all()
                return [
                    {
                        "worker": mask_number(r.id_number),
                        "at": r.moment,
                        "received": _when(r.received_s),
                        "late_by_h": round((r.received_s - r.at_s) / 3600, 1),
                    }
                    for r in rows
                ]
            if kind == "no-gate-attendance":
                types = conn.execute(
                    select(a.c.attend_type, func.count())
                    .where(a.c.project_code == project, a.c.day >= since_day)
                    .group_by(a.c.attend_type)
                ).all()
                return [{"attendType": t or "(none)", "records": n} for t, n in types] or [
                    {"attendType": "(no clock-ins)", "records": 0}
                ]
            # not-uploading: what the platform has (or has not) received from the project
            n_workers = conn.execute(select(func.count()).where(workers.c.project_code == project)).scalar()
            return [{"workers": n_workers, "clock_ins_recent": 0, "since": since_day}]

    # -- helpers -------------------------------------------------------------------------------
    def _last_jobs(self, conn: Any, health: dict[str, ProjectHealth]) -> None:
        """Any accepted write (not only clock-ins) counts as an upload."""
        for code, last in conn.execute(
            select(tenant_projects.c.project_code, func.max(jobs.c.created_at))
            .join(jobs, jobs.c.appid == tenant_projects.c.appid)
            .where(tenant_projects.c.project_code.in_(list(health)))
            .group_by(tenant_projects.c.project_code)
        ).all():
            h = health[code]
            when = _when(last)
            if when and (h.last_upload is None or when > h.last_upload):
                h.last_upload = when

    def _errors(self, health: dict[str, ProjectHealth]) -> None:
        appids: dict[str, str] = {}
        with self.store.read() as conn:
            for appid, code in conn.execute(
                select(tenant_projects.c.appid, tenant_projects.c.project_code).where(
                    tenant_projects.c.project_code.in_(list(health))
                )
            ).all():
                appids[appid] = code
        for entry in self.traffic.query(limit=10**9):
            code = appids.get(entry.appid)
            if code is None:
                continue
            h = health[code]
            h.requests += 1
            if entry.code not in (0, None):
                h.errors[str(entry.code)] = h.errors.get(str(entry.code), 0) + 1


def _in_scope(body: dict[str, Any], min_invest: float) -> bool:
    """The notice: a construction permit and a contract price of 4,000,000 CNY or more (the
    standard carries no contract price; total investment in 万元 stands in for it)."""
    licences = body.get("builderLicenses") or []
    try:
        invest = float(body.get("invest") or 0)
    except (TypeError, ValueError):
        invest = 0.0
    return bool(licences) and invest >= min_invest


def _when(epoch: Any) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(float(epoch), BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _when_type(kind: int) -> Any:
    return case((entry_exits.c.type == kind, entry_exits.c.day), else_="")
