"""The mock platform over HTTP against mountebank serving a static stub, in the same run (issue 3).

Server pinned to core 0, wrk (the load generator) pinned to core 1; each scenario three runs,
the median reported. Scenarios: single-record ``WorkerAttendance.Add`` (the full path: verify,
decrypt, validate, rules, durable commit) and 20-record batches; mountebank answers the same
POST with a canned envelope. Installs what it needs on first use: wrk (Debian package) and
mountebank (npm, into ~/.cache/jzgr-bench).

    .venv/bin/python benchmarks/sim_http.py [--seconds 5] [--connections 32] [--db postgresql://…]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from machine_speed import describe
from sqlalchemy import create_engine, func, select

from fixtures.fake import dataset, payloads
from platform_client import PlatformClient
from simulator.store import attendance
from standard import envelope, payload
from standard.envelope import today_beijing
from standard.models.attendance import WorkerAttendanceAdd

CACHE = Path.home() / ".cache" / "jzgr-bench"
STUB = {"code": 0, "message": "success", "data": {"requestSerialCode": "attendance-add-2026113010-1-0001"}}
LUA = """
local bodies = {}
for line in io.lines(os.getenv("JZGR_BODIES")) do bodies[#bodies + 1] = line end
local i = 0
local bad = 0
request = function()
  i = i + 1
  if i > #bodies then i = 1 end
  return wrk.format("POST", wrk.path, {["Content-Type"] = "application/x-www-form-urlencoded"}, bodies[i])
end
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"code":0', 1, true) then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("JZGR bad=%d\\n", bad))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_command(port: int, db: str, *options: str) -> list[str]:
    """``jzgr sim serve`` of this environment on ``port`` and ``db``, async results final at once."""
    jzgr = str(Path(sys.executable).with_name("jzgr"))
    return [jzgr, "sim", "serve", "--port", str(port), "--db", db, "--async-delay", "0", *options]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def ensure_tools() -> tuple[str, Path]:
    wrk = shutil.which("wrk")
    if wrk is None:
        print("installing wrk (Debian package)…", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
        wrk = shutil.which("wrk")
    mb = CACHE / "node_modules" / ".bin" / "mb"
    if not mb.exists():
        print("installing mountebank (npm)…", flush=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "mountebank@2"], cwd=CACHE, check=True, capture_output=True
        )
    assert wrk is not None
    return wrk, mb


def prepare(url: str, creds: dict[str, str]) -> tuple[int, list[str]]:
    """Participating corp, a team, 20 workers and their entry, through the reference client."""
    site = dataset.generate(3, 20)
    project, team = site.projects[0], site.projects[0].teams[0]
    project.code = creds["projectCode"]
    with PlatformClient(url, creds["appid"], creds["appsecret"]) as api:
        employer = next(s for s in project.subcontractors if s["corpCode"] == team.payload["corpCode"])
        api.write("ProjectSubContractor.Add", {**employer, "projectCode": project.code})
        result = api.write("Team.Add", {**team.payload, "projectCode": project.code})
        sys_no = int(result.result["teamSysNo"])
        team.team_sys_no = sys_no
        for w in team.workers:
            w.team_sys_no = sys_no
        api.upload("ProjectWorker.Add", payloads.team_workers(team, project))
        api.write("WorkerEntryExit.Add", payloads.entry(team, project, today_beijing() - timedelta(days=30)))
    return sys_no, [w.id_number for w in team.workers]


def bodies(path: Path, creds: dict[str, str], sys_no: int, ids: list[str], n: int, size: int, day: int) -> None:
    """``n`` signed forms, each with its own nonce and clock-in times (none is a replay)."""
    start = datetime.combine(today_beijing() - timedelta(days=day), datetime.min.time())
    secret, appid, code = creds["appsecret"], creds["appid"], creds["projectCode"]
    with path.open("w") as out:
        for i in range(n):
            records = [
                {
                    "idCardType": "01",
                    "idCardNumber": ids[(i * size + j) % len(ids)],
                    "date": (start + timedelta(seconds=(i * size + j) % 86000)).strftime("%Y-%m-%d %H:%M:%S"),
                    "direction": "01",
                }
                for j in range(size)
            ]
            data = payload.encrypt(
                WorkerAttendanceAdd, {"projectCode": code, "teamSysNo": sys_no, "dataList": records}, secret
            )
            form = envelope.build_request(
                "WorkerAttendance.Add", data, appid=appid, secret=secret, nonce=uuid.uuid4().hex
            )
            out.write(urlencode(form) + "\n")


def run_wrk(wrk: str, url: str, body_file: Path, lua: Path, seconds: float, connections: int) -> tuple[float, int]:
    out = subprocess.run(
        ["taskset", "-c", "1", wrk, "-t1", f"-c{connections}", f"-d{int(seconds)}s", "-s", str(lua), url],
        env={**os.environ, "JZGR_BODIES": str(body_file)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(next(line for line in out.splitlines() if line.startswith("Requests/sec")).split()[1])
    bad = int(next(line for line in out.splitlines() if line.startswith("JZGR bad=")).split("=")[1])
    return rate, bad


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (from /proc), to tell a busy server from an idle one."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def context_switches(pid: int) -> int:
    """Context switches of all the process's threads so far (voluntary and not, from /proc)."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        for line in status.read_text().splitlines():
            if line.endswith("ctxt_switches:") or "ctxt_switches:" in line:
                total += int(line.split()[1])
    return total


def settle(pids: list[int], limit: float = 15.0) -> float:
    """Wait until the servers on the measured core are idle (under 3 % CPU over 0.5 s: SQLite's
    checkpoint after a write burst, V8's compiler after a warm-up), so that neither peer's run
    pays for the other's leftovers. Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = sum(cpu_seconds(p) for p in pids)
        time.sleep(0.5)
        if sum(cpu_seconds(p) for p in pids) - before < 0.015:
            break
    return time.monotonic() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--db", default=None)
    ap.add_argument("--py-spy", default=None, help="record the server's stacks (collapsed) during the first run")
    ap.add_argument("--perf", default=None, help="record the server with perf (cpu-clock) during the first run")
    ap.add_argument("--only", type=int, default=None, help="only the N-record scenario")
    args = ap.parse_args()
    wrk, mb = ensure_tools()
    work = Path(tempfile.mkdtemp(prefix="jzgr-http-bench-"))
    db = args.db or f"sqlite:///{work / 'sim.db'}"
    lua = work / "post.lua"
    lua.write_text(LUA)
    port, mb_port, stub_port = free_port(), free_port(), free_port()
    creds_file = work / "creds.json"
    sim = subprocess.Popen(
        ["taskset", "-c", "0", *serve_command(port, db, "--seed-demo", "--credentials-out", str(creds_file))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    mountebank = subprocess.Popen(
        ["taskset", "-c", "0", str(mb), "--port", str(mb_port), "--logfile", str(work / "mb.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_port(port)
        wait_port(mb_port)
        url = f"http://127.0.0.1:{port}/open.api"
        creds = json.loads(creds_file.read_text())["tenants"][0]
        sys_no, ids = prepare(url, creds)
        imposter = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(STUB)}
        for _ in range(5):  # the free port may be taken between choosing and binding it: choose again
            made = httpx.post(
                f"http://127.0.0.1:{mb_port}/imposters",
                json={"port": stub_port, "protocol": "http", "stubs": [{"responses": [{"is": imposter}]}]},
            )
            if made.status_code == 201:
                break
            stub_port = free_port()
        else:
            raise SystemExit(f"mountebank refused the imposter: {made.text}")
        stub = f"http://127.0.0.1:{stub_port}/open.api"
        engine = create_engine(db.replace("postgresql://", "postgresql+psycopg://"))
        # Warm-up, not measured: mountebank's JIT and jzgr's caches and serial block.
        warm = work / "bodies-warm.txt"
        bodies(warm, creds, sys_no, ids, 4000, 1, day=20)
        run_wrk(wrk, stub, warm, lua, 2, args.connections)
        run_wrk(wrk, url, warm, lua, 2, args.connections)
        servers = [sim.pid, mountebank.pid]
        print(describe(), flush=True)
        print(f"{'scenario':<34}{'run req/s':>30}{'median':>10}{'records/s':>12}  bad", flush=True)
        results: dict[str, float] = {}
        for size, per_second in ((1, 8000), (20, 1500)):
            if args.only is not None and size != args.only:
                continue
            need = int(per_second * args.seconds * 1.3)
            rates, bad_total, mb_rates = [], 0, []
            for r in range(args.runs):
                body_file = work / f"bodies-{size}-{r}.txt"
                bodies(body_file, creds, sys_no, ids, need, size, day=1 + r + (0 if size == 1 else 10))
                with engine.connect() as c:
                    before = c.execute(select(func.count()).select_from(attendance)).scalar_one()
                spy = None
                if args.py_spy and r == 0:
                    spy = subprocess.Popen(
                        [
                            "py-spy",
                            "record",
                            "--format",
                            "raw",
                            "-o",
                            args.py_spy,
                            "--pid",
                            str(sim.pid),
                            "-d",
                            str(int(args.seconds)),
                            "--nonblocking",
                            "--rate",
                            "1000",
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                if args.perf and r == 0:
                    record = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "2000", "-g", "-o", args.perf]
                    spy = subprocess.Popen(
                        [*record, "--pid", str(sim.pid), "--", "sleep", str(args.seconds)],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                settle(servers)
                cpu_before, switches_before = cpu_seconds(sim.pid), context_switches(sim.pid)
                rate, bad = run_wrk(wrk, url, body_file, lua, args.seconds, args.connections)
                busy = (cpu_seconds(sim.pid) - cpu_before) / args.seconds
                switches = (context_switches(sim.pid) - switches_before) / max(rate * args.seconds, 1)
                if spy is not None:
                    spy.wait(timeout=30)
                health = httpx.get(url.replace("/open.api", "/healthz")).json()
                print(f"  server: {health}, CPU {busy:.0%} of one core, {switches:.2f} context switches per request")
                with engine.connect() as c:
                    stored = c.execute(select(func.count()).select_from(attendance)).scalar_one() - before
                rates.append(stored / size / args.seconds if size > 1 else rate)
                bad_total += bad
                waited = settle(servers)
                mb_rates.append(run_wrk(wrk, stub, body_file, lua, args.seconds, args.connections)[0])
                print(f"  mountebank run {mb_rates[-1]:,.0f} req/s (started after {waited:.1f} s for both to idle)")
            name = f"jzgr sim, {size}-record Add"
            median = statistics.median(rates)
            results[name] = median
            print(
                f"{name:<34}{' / '.join(f'{x:,.0f}' for x in rates):>30}{median:>10,.0f}"
                f"{median * size:>12,.0f}  {bad_total}",
                flush=True,
            )
            mb_median = statistics.median(mb_rates)
            print(
                f"{'mountebank stub, same POST':<34}{' / '.join(f'{x:,.0f}' for x in mb_rates):>30}{mb_median:>10,.0f}",
                flush=True,
            )
            print(f"  ratio jzgr/mountebank: {median / mb_median:.2f}", flush=True)
    finally:
        sim.send_signal(signal.SIGTERM)
        os.killpg(mountebank.pid, signal.SIGTERM)
        sim.wait(timeout=10)


if __name__ == "__main__":
    main()
