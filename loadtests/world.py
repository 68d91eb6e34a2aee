"""The sites a run uploads for — each project's tenant (appid, secret) and enrolled workers —
made on our simulator through its admin API (a generated ``jzgr fixtures generate`` folder, loaded
by ``/admin/api/seed-dataset``), or read from a dataset folder and a credentials file for a
platform that is not ours. Also: is the platform there at all."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from fixtures.fake import dataset as fake_dataset
from loadtests.morning import Morning
from standard.envelope import BEIJING
from standard.terminal import EnvironmentProblem, UsageProblem

PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Site:
    """One project as its vendor system knows it: whom it signs as, and its teams' workers in the
    order the fixtures generator dealt them (worker ``w`` is ``teams[w % T][1][w // T]``)."""

    appid: str
    secret: str
    project_code: str
    teams: list[tuple[int, list[str]]]  # (teamSysNo, ID numbers)

    def worker(self, index: int) -> tuple[int, str]:
        """(teamSysNo, ID number) of worker ``index``."""
        sys_no, ids = self.teams[index % len(self.teams)]
        return sys_no, ids[index // len(self.teams)]

    def to_json(self) -> dict[str, Any]:
        return {"appid": self.appid, "secret": self.secret, "code": self.project_code, "teams": self.teams}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Site:
        return cls(obj["appid"], obj["secret"], obj["code"], [(int(s), list(ids)) for s, ids in obj["teams"]])


def admin_base(url: str) -> str:
    """``http://host:port/open.api`` (or ``…/{slug}/open.api``) → ``http://host:port/admin/api``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/admin/api"


def probe(url: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Any HTTP answer at ``url`` will do; no answer within ``timeout`` is an EnvironmentProblem."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageProblem(f"--url {url!r} is not an http(s) URL of open.api")
    try:
        httpx.post(url, data={}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise EnvironmentProblem(f"the platform at {url} does not answer ({type(exc).__name__}: {exc})") from None


def _admin(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    try:
        answer = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise EnvironmentProblem(f"the simulator's admin API does not answer ({type(exc).__name__}: {exc})") from None
    if answer.status_code == 401:
        raise UsageProblem("the simulator refused --admin-token (it prints its token when it starts)")
    if answer.status_code >= 400:
        raise EnvironmentProblem(f"admin API {path}: HTTP {answer.status_code}: {answer.text[:200]}")
    return answer.json()


def morning_day(now: datetime) -> date:
    """The morning replayed: the Beijing day before ``now``, so no clock-in is in the future and
    every worker entered the site before it, whatever day and hour the run starts."""
    return now.astimezone(BEIJING).date() - timedelta(days=1)


def seed_simulator(url: str, token: str, m: Morning, work: Path, *, people: bool = True) -> tuple[date, list[Site]]:
    """Generate the morning's projects and workers, load them into our simulator through
    ``/admin/api/seed-dataset`` (one project-key tenant per project; ``people`` false: only the
    companies and projects, for a vendor system that enrols the rest); the morning day comes from
    the simulator's own clock. The tenants' credentials file is written to ``work``."""
    with httpx.Client(base_url=admin_base(url), headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
        now = datetime.fromisoformat(_admin(client, "GET", "/clock")["now"])
        day = morning_day(now)
        # the vendor enrolling the people uploads their faces (headImage is required); loaded
        # straight into the store, they need none
        ds = fake_dataset.generate(m.seed, m.clock_ins, today=day, project_count=m.project_count, photos=not people)
        folder = work / "dataset"
        fake_dataset.write(ds, folder)
        spec = {"path": str(folder.resolve()), "people": people}
        answer = _admin(client, "POST", "/seed-dataset", json=spec)
    creds = {k: v for k, v in answer.items() if k != "loaded"}
    (work / "credentials.json").write_text(json.dumps(creds, ensure_ascii=False, indent=1), encoding="utf-8")
    secrets = {t["projectCode"]: t for t in answer["tenants"]}
    return day, [_site(p, secrets[p.code]) for p in ds.projects]


def from_files(credentials: Path, folder: Path, m: Morning, now: datetime) -> tuple[date, list[Site]]:
    """The sites of a dataset already enrolled on the platform, signed for with the credentials
    file's tenants (one per project, by ``projectCode``)."""
    try:
        tenants = json.loads(credentials.read_text(encoding="utf-8"))["tenants"]
        by_project = {str(t.get("projectCode") or t["appid"]): t for t in tenants}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageProblem(f"--credentials {credentials}: not a credentials file ({exc})") from None
    try:
        ds = fake_dataset.load(folder)
    except (OSError, ValueError, KeyError, TypeError, StopIteration) as exc:
        raise UsageProblem(f"--dataset {folder}: not a `jzgr fixtures generate` folder ({exc})") from None
    day = morning_day(now)
    if ds.today > day:
        raise UsageProblem(
            f"--dataset {folder} was generated for {ds.today}: its workers entered then, after the morning replayed "
            f"({day}); generate it with --today {day} or earlier"
        )
    if len(ds.projects) < m.project_count:
        raise UsageProblem(f"--dataset {folder} has {len(ds.projects)} projects; the morning needs {m.project_count}")
    missing = [p.code for p in ds.projects[: m.project_count] if p.code not in by_project]
    if missing:
        raise UsageProblem(f"--credentials {credentials} has no tenant for project(s) {', '.join(missing[:5])}")
    sites = [_site(p, by_project[p.code]) for p in ds.projects[: m.project_count]]
    return day, sites


def _site(project: fake_dataset.Project, tenant: dict[str, Any]) -> Site:
    return Site(
        str(tenant["appid"]),
        str(tenant["appsecret"]),
        project.code,
        [(t.team_sys_no, [w.id_number for w in t.workers]) for t in project.teams],
    )


def check_fits(m: Morning, sites: list[Site]) -> None:
    """Every site has the model's teams and workers (or the timetable would name people it lacks)."""
    for site in sites[: m.project_count]:
        size = sum(len(ids) for _, ids in site.teams)
        if len(site.teams) != m.teams_per_project or size < m.workers_per_project:
            raise UsageProblem(
                f"project {site.project_code} has {size} workers in {len(site.teams)} teams; the morning needs "
                f"{m.workers_per_project} in {m.teams_per_project} (teams of {m.team_size})"
            )
