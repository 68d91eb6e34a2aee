"""``jzgr standard …`` from the shell's point of view (typer's runner, no Python API)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from typer.testing import CliRunner

from jzgr.cli import app
from standard import envelope, signature
from standard.cli import ProfileChoice
from standard.profile import PROFILES

SECRET = "0123456789abcdef0123456789abcdef"
runner = CliRunner()


PARAMS = envelope.build_request("Team.Query", {"pageIndex": 0, "pageSize": 10}, appid="1", secret=SECRET)


def _form(sign: str | None = None) -> str:
    return urlencode({**PARAMS, "sign": sign} if sign is not None else PARAMS)


def test_sign_prints_the_signature_and_masks_the_secret() -> None:
    form = _form()
    result = runner.invoke(app, ["standard", "sign", form, "--secret", SECRET])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == dict(p.split("=", 1) for p in form.split("&"))["sign"]
    assert SECRET not in result.output


def test_explain_names_the_mistake_and_exits_non_zero() -> None:
    wrong = hashlib.sha256(signature.sign_string(PARAMS, SECRET).encode()).hexdigest()
    result = runner.invoke(app, ["standard", "explain", _form(wrong), "--secret", SECRET])
    assert result.exit_code == 1
    assert "not lowercased" in result.stdout


def test_explain_a_correct_request_exits_zero() -> None:
    result = runner.invoke(app, ["standard", "explain", _form(), "--secret", SECRET])
    assert result.exit_code == 0 and "correct" in result.stdout


def test_validate_prints_platform_errors_as_json(tmp_path: Path) -> None:
    data = tmp_path / "att.json"
    data.write_text(json.dumps({"projectCode": "1", "teamSysNo": 1, "dataList": []}), encoding="utf-8")
    result = runner.invoke(app, ["standard", "validate", "WorkerAttendance.Add", "--data", str(data)])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [{"path": ["dataList"], "kind": "missing", "message": "[dataList]不能为空!"}]


def test_encrypt_decrypt_round_trip() -> None:
    enc = runner.invoke(app, ["standard", "encrypt", "110101199003071234", "--secret", SECRET])
    assert enc.stdout.strip() == "vMnDEP94qAqeHuI/FD96BC8pA/e/pKXdPiA3Hk0PZyQ="
    dec = runner.invoke(app, ["standard", "decrypt", enc.stdout.strip(), "--secret", SECRET])
    assert dec.exit_code == 0 and dec.stdout.strip() == "110101199003071234"
    bad = runner.invoke(app, ["standard", "decrypt", "not-base64!", "--secret", SECRET])
    assert bad.exit_code == 1 and "Traceback" not in bad.output


# -- one-line refusals, through jzgr's entry point (main) ----------------------------------------
def test_validate_refuses_a_missing_data_file_in_one_line(jzgr: Any, tmp_path: Path) -> None:
    ran = jzgr("standard", "validate", "WorkerAttendance.Add", "--data", str(tmp_path / "nope.json"))
    assert ran.code == 2
    assert ran.error_line() == f"error: --data {tmp_path / 'nope.json'}: cannot read it (No such file or directory)"


def test_validate_offers_the_profiles_as_choices(jzgr: Any, tmp_path: Path) -> None:
    data = tmp_path / "att.json"
    data.write_text("{}", encoding="utf-8")
    ran = jzgr("standard", "validate", "WorkerAttendance.Add", "--data", str(data), "--profile", "bogus")
    assert ran.code == 2
    line = ran.error_line()
    assert "--profile" in line and "'strict', 'lenient'" in line
    assert [p.value for p in ProfileChoice] == list(PROFILES)


def test_validate_names_the_known_methods(jzgr: Any, tmp_path: Path) -> None:
    ran = jzgr("standard", "validate", "Nope.Add", "--data", str(tmp_path / "x.json"))
    assert ran.code == 2 and "unknown method 'Nope.Add'; known: Corp.Upload" in ran.error_line()


@pytest.mark.parametrize("command", ["encrypt", "decrypt"])
@pytest.mark.parametrize(
    ("secret", "says"), [("short", "--secret has 5 bytes"), ("x" * 20, "--secret: the secret has 20")]
)
def test_aes_refuses_a_secret_it_cannot_use_in_one_line(jzgr: Any, command: str, secret: str, says: str) -> None:
    ran = jzgr("standard", command, "abc", "--secret", secret)
    assert ran.code == 2 and says in ran.error_line()
