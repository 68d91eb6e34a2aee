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
"$work/venv/bin/jzgr" fixtures generate --seed 7 --workers 12 --out "$work/dataset" >/dev/null
test -s "$work/dataset/dataset.json"
ls "$work/dataset/photos" | grep -q '\.jpg$'
echo "check-install: pip install . into a fresh venv, jzgr --help and jzgr fixtures generate work from another directory"
