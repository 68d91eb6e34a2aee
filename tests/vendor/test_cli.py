"""``jzgr vendor serve`` refuses bad input in one line with exit 2, a busy port with exit 3."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from hardware_sim import site as site_mod
from jzgr.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    err = capsys.readouterr().err.strip()
    return int(done.value.code or 0), err


def test_bad_input_and_busy_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = str(site_mod.sample("dezhou-4-gates"))
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({"tenants": [{"appid": "a", "appsecret": "s", "projectCode": "1"}]}))
    base = ["vendor", "serve", "--platform", "http://127.0.0.1:9/open.api", "--devices", site]
    code, err = run([*base, "--credentials", str(creds), "--defect", "no-such-bug"], capsys)
    assert code == 2 and err.count("\n") == 0 and "no-such-bug" in err and "swap-direction" in err
    code, err = run([*base, "--credentials", str(tmp_path / "missing.json")], capsys)
    assert code == 2 and "no such file" in err
    code, err = run([*base, "--credentials", str(creds)], capsys)
    assert code == 2 and "371428202611243708" in err  # no tenant for the site's project
    code, err = run([*base, "--tenant-file", str(creds), "--listen", "nowhere"], capsys)
    assert code == 2 and "HOST:PORT" in err
    creds.write_text(json.dumps({"tenants": [{"appid": "a", "appsecret": "s", "projectCode": "371428202611243708"}]}))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, err = run([*base, "--creds", str(creds), "--listen", f"127.0.0.1:{port}"], capsys)
    assert code == 3 and err.count("\n") == 0 and str(port) in err
