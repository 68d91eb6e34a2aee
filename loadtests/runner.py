"""Run a scenario on locust: in this process alone, or as the master of locust workers (spawned
here with ``--workers N``, or started on other hosts with ``jzgr load worker``), each handed its
shard's plan as a locust message and sending its outcomes back when its timetable is done; with
progress on stderr, locust's CSV, and optionally locust's web UI.

A scenario is what differs between ``jzgr load platform`` and the coming ``jzgr load peak``: the
user class and the per-shard plans (see :class:`Scenario`)."""

from __future__ import annotations

# locust first: it patches the standard library for gevent before anything opens a socket
import locust  # noqa: F401  isort: skip

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import gevent
from locust import User
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import PERCENTILES_TO_REPORT, StatsCSVFileWriter, stats_history
from rich.console import Console

from loadtests import gate_users, platform_users
from loadtests.messages import PLAN_MESSAGE, READY_MESSAGE, RESULTS_MESSAGE
from standard.terminal import EnvironmentProblem

WORKER_CONNECT_S = 60.0


class Scenario(Protocol):
    """What a load scenario gives the runner: the locust user that carries one shard, and the
    plan of each shard as a JSON-able dict (sent to a worker, or adopted here)."""

    @property
    def user(self) -> type[User]: ...

    @property
    def expected_s(self) -> float:
        """How long the timetable runs (the runner waits that, plus a grace)."""
        ...

    def plan(self, index: int, count: int, start_at: float) -> dict[str, Any]: ...

    def adopt(self, plan: dict[str, Any], deliver: Callable[[int, list[Any]], None] | None) -> None: ...


@dataclass
class Distribution:
    """Where the shards run: ``local`` worker processes spawned here, ``remote`` ones expected
    from other hosts (``jzgr load worker --master-host …``); none at all: in this process."""

    local: int = 0
    remote: int = 0
    bind: str = "127.0.0.1"
    port: int = 0  # 0: a free one

    @property
    def shards(self) -> int:
        return max(1, self.local + self.remote)


@dataclass
class Finished:
    outcomes: dict[int, list[Any]] = field(default_factory=dict)  # shard → outcomes
    start_at: float = 0.0
    locust_rows: list[dict[str, Any]] = field(default_factory=list)
    csv: list[str] = field(default_factory=list)
    cut_short: bool = False  # the time limit stopped the run before every shard was done


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def run(
    scenario: Scenario,
    where: Distribution,
    report_dir: Path,
    console: Console,
    *,
    ui_port: int | None = None,
    lead_s: float = 1.0,
    time_limit_s: float | None = None,
) -> Finished:
    """Run ``scenario`` to the end of every shard's timetable, or until ``time_limit_s`` after
    the start (default: the timetable, its retries and polls, and two minutes' grace)."""
    env = Environment(user_classes=[scenario.user])
    done = Finished()
    workers: list[subprocess.Popen[bytes]] = []
    if where.local or where.remote:
        port = where.port or free_port(where.bind if where.bind != "0.0.0.0" else "127.0.0.1")
        runner: Any = env.create_master_runner(where.bind, port)
        runner.register_message(RESULTS_MESSAGE, lambda environment, msg, **_: _got(done, msg.data))
        ready: set[int] = set()
        runner.register_message(READY_MESSAGE, lambda environment, msg, **_: ready.add(msg.data["index"]))
        workers = [_spawn_worker(port) for _ in range(where.local)]
        if where.remote:
            console.print(
                f"waiting for {where.remote} worker(s): jzgr load worker --master-host <this host> --master-port {port}"
            )
        nodes = _connected(runner, where.shards, workers)
        done.start_at = time.time() + lead_s + 0.5 * where.shards
        for index, node in enumerate(nodes):
            runner.send_message(PLAN_MESSAGE, scenario.plan(index, where.shards, done.start_at), node)
        _wait(lambda: len(ready) == where.shards, WORKER_CONNECT_S, "the locust workers did not take their plans")
    else:
        runner = env.create_local_runner()
        done.start_at = time.time() + lead_s
        scenario.adopt(
            scenario.plan(0, 1, done.start_at),
            lambda index, outcomes: _got(done, {"index": index, "outcomes": outcomes}),
        )
    report_dir.mkdir(parents=True, exist_ok=True)
    prefix = str(report_dir / "locust")
    csv = StatsCSVFileWriter(env, PERCENTILES_TO_REPORT, prefix, full_history=True)
    greenlets = [gevent.spawn(csv), gevent.spawn(stats_history, runner)]
    web = None
    if ui_port is not None:
        sys.argv = sys.argv[:1]  # locust's web UI parses the process's arguments as locust's own
        web = env.create_web_ui("127.0.0.1", ui_port)
    if web is not None:
        console.print(f"locust web UI: http://127.0.0.1:{ui_port}/")
    try:
        runner.start(where.shards, spawn_rate=where.shards)
        greenlets.append(gevent.spawn(_progress, runner, done, where.shards, console))
        limit = done.start_at + (time_limit_s if time_limit_s is not None else scenario.expected_s + 120)
        while len(done.outcomes) < where.shards and time.time() < limit:
            gevent.sleep(0.2)
            lost = [w for w in workers if w.poll() is not None]
            if lost and len(done.outcomes) < where.shards:
                console.print(f"a locust worker ended (exit {lost[0].returncode}) before reporting", style="red")
                break
        if len(done.outcomes) < where.shards:
            done.cut_short = True
            console.print("stopped at the time limit: uploads not answered by now count as failed", style="red")
        runner.stop()
        _wait_quietly(lambda: len(done.outcomes) >= where.shards, 15.0)  # the stopped shards' outcomes so far
    finally:
        for g in greenlets:
            g.kill(block=False)
        csv.close_files()
        runner.quit()
        if web is not None:
            web.stop()  # type: ignore[no-untyped-call]
        for w in workers:
            try:
                w.wait(timeout=10)
            except subprocess.TimeoutExpired:
                w.terminate()
                w.wait(timeout=10)
    done.csv = [f"locust_{name}.csv" for name in ("stats", "stats_history", "failures", "exceptions")]
    done.locust_rows = [
        {
            "name": s.name,
            "requests": s.num_requests,
            "failures": s.num_failures,
            "median_ms": s.median_response_time,
            "p95_ms": s.get_response_time_percentile(0.95),
            "p99_ms": s.get_response_time_percentile(0.99),
            "max_ms": round(s.max_response_time or 0, 1),
            "rps": round(s.total_rps, 1),
        }
        for s in [*sorted(env.stats.entries.values(), key=lambda s: s.name), env.stats.total]
    ]
    return done


def _got(done: Finished, data: dict[str, Any]) -> None:
    done.outcomes[int(data["index"])] = list(data["outcomes"])


def _spawn_worker(port: int) -> subprocess.Popen[bytes]:
    beside = Path(sys.executable).with_name("jzgr")
    jzgr = [str(beside)] if beside.exists() else [sys.executable, "-c", "from jzgr.cli import main; main()"]
    return subprocess.Popen(
        [*jzgr, "load", "worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _connected(runner: MasterRunner, count: int, spawned: list[subprocess.Popen[bytes]]) -> list[str]:
    def enough() -> bool:
        if any(w.poll() is not None for w in spawned):
            raise EnvironmentProblem("a locust worker process ended before it connected (see its output above)")
        return len(runner.clients.ready) >= count

    _wait(enough, WORKER_CONNECT_S, f"{count} locust worker(s) did not connect within {WORKER_CONNECT_S:g} s")
    return sorted(node.id for node in runner.clients.ready)[:count]


def _wait(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise EnvironmentProblem(message)
        gevent.sleep(0.1)


def _wait_quietly(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.time() + timeout
    while not condition() and time.time() < deadline:
        gevent.sleep(0.1)


def _progress(runner: Any, done: Finished, shards: int, console: Console) -> None:
    started = time.time()
    while True:
        gevent.sleep(2.0)
        total = runner.stats.total
        console.print(
            f"{time.time() - started:5.0f} s  requests {total.num_requests:,}  failures {total.num_failures:,}  "
            f"{total.current_rps:,.0f} req/s  shards done {len(done.outcomes)}/{shards}",
            style="dim",
        )


# A plan names its scenario; a worker takes either (the master says which user class to spawn)
ADOPT: dict[str, Callable[[dict[str, Any]], None]] = {
    "platform": lambda plan: platform_users.adopt(platform_users.Plan.from_json(plan)),
    "peak": lambda plan: gate_users.adopt(gate_users.GatePlan.from_json(plan)),
}


def serve_worker(master_host: str, master_port: int) -> None:
    """A locust worker for either scenario: connects to the master, takes its plan, runs its
    shard, reports, and ends when the master quits."""
    env = Environment(user_classes=[platform_users.VendorFleet, gate_users.GateFleet])
    runner = env.create_worker_runner(master_host, master_port)
    assert isinstance(runner, WorkerRunner)

    def on_plan(environment: Environment, msg: Any, **_kw: Any) -> None:
        ADOPT[str(msg.data.get("scenario", "platform"))](msg.data)
        runner.send_message(READY_MESSAGE, {"index": msg.data["index"]})

    runner.register_message(PLAN_MESSAGE, on_plan)
    runner.greenlet.join()
