"""The bureau console: server-rendered HTML (no build step) over :mod:`simulator.oversight`.

``/`` national view, ``/{slug}/`` a region of the registry, ``/{slug}/flags/{kind}/{project}``
the records behind a compliance flag, ``/traffic/{appid}`` a vendor's own requests with verdicts.
Read-only; it serves on the simulator's address (127.0.0.1 by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from simulator.oversight import FLAG_TITLES, Oversight, Region
from simulator.platform import Platform
from standard import code_tables, requirements

TEMPLATES = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(Path(__file__).parent / "templates" / "console"), autoescape=True)
)


def requirement_statement(rule_id: str) -> str:
    """What a requirement id in the log means (a tooltip); empty for the ids of other deciders."""
    found = requirements.registry().get(rule_id)
    return f"{found.statement} ({found.clause})" if found else ""


TEMPLATES.env.globals["requirement_statement"] = requirement_statement


CHART_LEFT = 44  # room for the y-axis labels


def hourly_bars(hourly: list[int], width: int = 720, height: int = 180) -> list[dict[str, Any]]:
    """Geometry of the clock-ins-per-hour bar chart (drawn as inline SVG by the template)."""
    top = max(hourly) or 1
    slot = (width - CHART_LEFT) / 24
    bars = []
    for hour, n in enumerate(hourly):
        h = round((height - 20) * n / top, 1)
        bars.append(
            {
                "hour": hour,
                "n": n,
                "x": round(CHART_LEFT + hour * slot + 2, 1),
                "w": round(slot - 4, 1),
                "y": round(height - 20 - h, 1),
                "h": h,
            }
        )
    return bars


def hourly_axis(hourly: list[int], height: int = 180) -> list[dict[str, Any]]:
    """The y-axis ticks of that chart: 0, the middle and the busiest hour's count, at their heights."""
    top = max(hourly)
    values = sorted({0, top // 2, top}) if top else [0]
    return [{"value": v, "y": round(height - 20 - (height - 20) * v / (top or 1), 1)} for v in values]


def build(platform: Platform, oversight: Oversight | None = None) -> Starlette:
    watch = oversight or Oversight(platform.store, platform.clock, platform.traffic)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        response: Response = TEMPLATES.TemplateResponse(
            request, name, {"titles": FLAG_TITLES, **context}, status_code=status
        )
        return response

    def not_found(request: Request, what: str) -> Response:
        return page(request, "missing.html.j2", status=404, what=what)

    def region_of(request: Request) -> Region | None:
        return watch.by_slug.get(request.path_params["slug"])

    async def national(request: Request) -> Response:
        return page(request, "national.html.j2", rows=watch.national(), now=platform.clock.now())

    async def region(request: Request) -> Response:
        found = region_of(request)
        if found is None:
            return not_found(request, f"region {request.path_params['slug']}")
        view = watch.region(found)
        roles = code_tables.table("projectCorpType")
        return page(
            request,
            "region.html.j2",
            view=view,
            bars=hourly_bars(view.hourly),
            axis=hourly_axis(view.hourly),
            settings=watch.settings,
            roles=roles,
        )

    async def region_redirect(request: Request) -> Response:
        if region_of(request) is None:
            return not_found(request, f"page {request.url.path}")
        return RedirectResponse(f"/{request.path_params['slug']}/", status_code=308)

    async def flag(request: Request) -> Response:
        found = region_of(request)
        kind, project = request.path_params["kind"], request.path_params["project"]
        if found is None or kind not in FLAG_TITLES:
            return not_found(request, f"flag {kind}")
        records = watch.flag_records(found, kind, project)
        return page(request, "flag.html.j2", region=found, kind=kind, project=project, records=records)

    async def traffic(request: Request) -> Response:
        appid = request.path_params["appid"]
        entries = platform.traffic.query(appid=appid, limit=200)
        return page(request, "traffic.html.j2", appid=appid, entries=[e.to_json() for e in entries])

    return Starlette(
        routes=[
            Route("/", national, methods=["GET"]),
            Route("/traffic/{appid}", traffic, methods=["GET"]),
            Route("/{slug}/", region, methods=["GET"]),
            Route("/{slug}", region_redirect, methods=["GET"]),
            Route("/{slug}/flags/{kind}/{project}", flag, methods=["GET"]),
        ]
    )
