#!/usr/bin/env bash
# Packaging check: `pip install .` into a fresh virtual environment, then use the command from
# another directory, so the data files must ship inside the package.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip
"$work/venv/bin/python" -m pip install -q "$repo"
cd "$work"
"$work/venv/bin/jzgr" --help >/dev/null
"$work/venv/bin/jzgr" vendor defects | grep -q swap-direction  # the vendor package ships
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
echo "check-install: pip install . into a fresh venv; jzgr --help, fixtures generate, the device samples and the console work from another directory"
