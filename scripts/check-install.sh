#!/usr/bin/env bash
# Packaging check: build the wheel, `pip install` it into a fresh virtual environment outside the
# repository, then use the command from there, so the data files (code tables, regions, templates)
# must ship inside the wheel.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip
"$work/venv/bin/python" -m pip wheel -q --no-deps --wheel-dir "$work/wheel" "$repo"
wheel=$(ls "$work"/wheel/jzgr-*.whl)
"$work/venv/bin/python" -m pip install -q "$wheel"
cd "$work"
"$work/venv/bin/jzgr" --help >/dev/null
"$work/venv/bin/jzgr" vendor defects | grep -q swap-direction  # the vendor package ships
"$work/venv/bin/jzgr" conform list >"$work/checks.txt"
grep -q '^SIG-02 ' "$work/checks.txt"
# jzgr sim serve from the wheel: start it, /healthz, certify it with the smoke plan (the report's
# templates), stop it
port=$("$work/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$work/venv/bin/jzgr" sim serve --port "$port" --db "sqlite:///$work/sim.db" --seed-demo --async-delay 0 \
    --credentials-out "$work/creds.json" 2>"$work/sim.log" &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    "$work/venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null && break
    kill -0 "$sim" 2>/dev/null || { cat "$work/sim.log"; exit 1; }
    sleep 0.2
done
"$work/venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)"
"$work/venv/bin/jzgr" conform server --credentials "$work/creds.json" --plan smoke --report-dir "$work/report" \
    >"$work/conform.log" 2>&1 || { cat "$work/conform.log"; exit 1; }
test -s "$work/report/report.html" && test -s "$work/report/evidence.zip"
"$work/venv/bin/jzgr" report verify "$work/report/evidence.zip" >/dev/null
kill -INT "$sim"
wait "$sim" || true
# the jzgr_platform fixture, from the wheel's pytest11 entry point, in a vendor's own test suite
"$work/venv/bin/python" -m pip install -q pytest
mkdir "$work/vendor-tests"
cat >"$work/vendor-tests/test_vendor.py" <<'PY'
import httpx


def test_the_platform_answers(jzgr_platform):
    assert httpx.get(jzgr_platform.url.removesuffix("open.api") + "healthz").status_code == 200
    assert jzgr_platform.credentials["tenants"]
    assert httpx.get(jzgr_platform.devices_control_url + "/devices").json()["devices"]
PY
(cd "$work/vendor-tests" && "$work/venv/bin/python" -m pytest -q -p no:cacheprovider --jzgr-platform processes >"$work/pytest.log" 2>&1) || { cat "$work/pytest.log"; exit 1; }
"$work/venv/bin/jzgr" fixtures generate --seed 7 --workers 12 --out "$work/dataset" >/dev/null
test -s "$work/dataset/dataset.json"
# the requirement registry and the clause index ship with fixtures (every check resolves its requirement)
"$work/venv/bin/jzgr" conform list --plan smoke >"$work/checks.txt"
grep -q 'REQ-SIG-01: interface.md §3.1' "$work/checks.txt"
ls "$work/dataset/photos" | grep -q '\.jpg$'
# the device side's data: sample site, callback templates; the console's templates
"$work/venv/bin/jzgr" devices check --config "$("$work/venv/bin/python" -c 'from hardware_sim import site; print(site.sample())')" >/dev/null
"$work/venv/bin/python" -c 'from hardware_sim.callback import load_template; load_template("uniubi-wo"); load_template("fc-httpv2")'
"$work/venv/bin/python" - <<'PY'
import asyncio

import httpx

from simulator.asgi import SimulatorApp
from simulator.platform import Platform
from simulator.store import Store


async def main() -> None:
    app = SimulatorApp(Platform(Store.open("sqlite://")))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as http:
        page = await http.get("/sddzsdzs/")
        assert page.status_code == 200 and "hourly-chart" in page.text, page.status_code


asyncio.run(main())
PY
echo "check-install: the wheel in a fresh venv; jzgr --help, conform list, sim serve (healthz, the smoke plan, report verify), fixtures generate, the device samples, the console and the jzgr_platform fixture work from another directory"
