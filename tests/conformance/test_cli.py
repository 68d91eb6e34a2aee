"""``jzgr conform …`` and ``jzgr report …`` from the shell: every bad input ends in one line naming
what to change (exit 2), an unreachable platform in one line (exit 3), and none of them writes
reports or evidence. Run through ``jzgr.cli.main`` as the console script runs."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conformance.reports import evidence
from jzgr.cli import main, mount

SECRET = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def creds(tmp_path: Path, dead_url: str) -> Path:
    path = tmp_path / "creds.json"
    tenant = {"appid": "37140220190101001", "appsecret": SECRET, "projectCode": "37140220190101001"}
    path.write_text(json.dumps({"url": dead_url, "tenants": [tenant]}), encoding="utf-8")
    return path


def jzgr(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``jzgr args…``."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_a_credentials_file_holding_a_list_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, creds: Path
) -> None:
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(json.loads(creds.read_text())["tenants"]), encoding="utf-8")
    code, _, err = jzgr(capsys, "conform", "server", "--credentials", str(listed), "--report-dir", str(tmp_path / "o"))
    assert code == 2
    assert "holds a JSON list" in one_line_error(err) and '"tenants"' in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{", "is not JSON"),
        ('{"url": "http://x/open.api"}', 'no "tenants" list'),
        ('{"tenants": [{"appid": "1"}]}', "tenants[0] has no appsecret"),
        ('{"tenants": ["a"]}', "tenants[0] is not an object"),
    ],
)
def test_other_unusable_credentials_files_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "c.json"
    path.write_text(text, encoding="utf-8")
    code, _, err = jzgr(capsys, "conform", "server", "--credentials", str(path), "--report-dir", str(tmp_path / "o"))
    assert code == 2 and says in one_line_error(err)


def test_a_missing_credentials_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = jzgr(capsys, "conform", "server", "--credentials", str(tmp_path / "nope.json"), "--report-dir", "o")
    assert code == 2 and "No such file" in one_line_error(err)


@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_an_unwritable_report_dir_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, creds: Path, where: str
) -> None:
    # Tests may run as root, for whom no mode is unwritable: a path that is (or is under) a file.
    blocker = tmp_path / "reports"
    blocker.write_text("not a directory", encoding="utf-8")
    report_dir = blocker if where == "file" else blocker / "out"
    code, _, err = jzgr(capsys, "conform", "server", "--credentials", str(creds), "--report-dir", str(report_dir))
    assert code == 2 and "--report-dir" in one_line_error(err)


def test_a_malformed_signing_key_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, creds: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n", encoding="utf-8")
    args = ["conform", "server", "--credentials", str(creds), "--report-dir", str(tmp_path / "o")]
    code, _, err = jzgr(capsys, *args, "--signing-key", str(key))
    assert code == 2 and "--signing-key" in one_line_error(err) and "not a PEM private key" in err
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"password"),
        )
    )
    code, _, err = jzgr(capsys, *args, "--signing-key", str(encrypted))
    assert code == 2 and "is encrypted" in one_line_error(err)
    code, _, err = jzgr(capsys, *args, "--signing-key", str(tmp_path / "no-such-dir" / "key.pem"))
    assert code == 2 and "cannot create" in one_line_error(err)


@pytest.mark.parametrize(
    "args",
    [
        ["conform", "list", "--plan", "bogus"],
        ["conform", "list", "--profile", "bogus"],
        ["conform", "server", "--report-dir", "o", "--plan", "bogus"],
        ["conform", "server", "--report-dir", "o", "--profile", "lax"],
        ["conform", "server", "--report-dir", "o", "--fail-on", "may"],
    ],
)
def test_choices_are_validated(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, err = jzgr(capsys, *args)
    assert code == 2 and out == "" and "Invalid value" in one_line_error(err)


def test_a_typo_in_only_is_an_error_with_a_suggestion(capsys: pytest.CaptureFixture[str], creds: Path) -> None:
    code, _, err = jzgr(
        capsys, "conform", "server", "--credentials", str(creds), "--report-dir", "o", "--only", "SIG-2"
    )
    assert code == 2 and "unknown check id or area SIG-2" in one_line_error(err) and "SIG-02" in err


def test_only_a_check_outside_the_plan_is_an_error(capsys: pytest.CaptureFixture[str], creds: Path) -> None:
    args = ["conform", "server", "--credentials", str(creds), "--report-dir", "o"]
    code, _, err = jzgr(capsys, *args, "--only", "NONCE-01", "--profile", "lenient")
    assert code == 2 and "NONCE-01 not in the full plan under profile lenient" in one_line_error(err)
    code, _, err = jzgr(capsys, *args, "--only", "fuzzing", "--plan", "smoke")
    assert code == 2 and "no check of the smoke plan" in one_line_error(err)


def test_an_unreachable_platform_is_one_line_and_no_evidence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, creds: Path
) -> None:
    out_dir = tmp_path / "out"
    code, out, err = jzgr(capsys, "conform", "server", "--credentials", str(creds), "--report-dir", str(out_dir))
    assert code == 3 and "cannot reach the platform at http://127.0.0.1:" in one_line_error(err)
    assert "Connection refused" in err and out == ""
    assert list(out_dir.iterdir()) == []  # no report, no signed evidence of a run that did not happen


def test_the_old_credentials_spellings_still_work(capsys: pytest.CaptureFixture[str], creds: Path) -> None:
    for spelling in ("--tenant-file", "--creds"):
        code, _, err = jzgr(capsys, "conform", "server", spelling, str(creds), "--report-dir", str(creds.parent / "o"))
        assert code == 3 and "cannot reach the platform" in err  # read the file, got as far as the platform


def test_url_appid_and_secret_without_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, dead_url: str) -> None:
    code, _, err = jzgr(capsys, "conform", "server", "--report-dir", str(tmp_path), "--appid", "1")
    assert code == 2 and "--credentials FILE" in one_line_error(err)
    args = ["conform", "server", "--report-dir", str(tmp_path), "--appid", "1", "--secret", SECRET]
    code, _, err = jzgr(capsys, *args)
    assert code == 2 and "no platform URL" in one_line_error(err)
    code, _, err = jzgr(capsys, *args, "--url", dead_url)
    assert code == 3


def test_every_command_and_option_has_help() -> None:
    import typer

    root = typer.main.get_command(mount("conform", "report"))
    missing = []
    for group in ("conform", "report"):
        for name, command in root.commands[group].commands.items():  # type: ignore[attr-defined]
            if not command.help:
                missing.append(f"{group} {name}")
            for param in command.params:
                if not getattr(param, "hidden", False) and not getattr(param, "help", None):
                    missing.append(f"{group} {name} {param.name}")
    assert missing == []


def test_help_names_credentials_and_hides_the_old_spellings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = jzgr(capsys, "conform", "server", "--help")
    assert code == 0 and "--credentials" in out and "--fail-on" in out
    assert "--tenant-file" not in out and "--creds " not in out


def test_list_prints_bracketed_clauses_whole(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = jzgr(capsys, "conform", "list", "--plan", "smoke")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) >= 10 and all(line.endswith("]") for line in lines)
    assert any("[REQ-SIG-01: interface.md §3.1, §3.3]" in line for line in lines)


def test_verify_a_missing_package_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = jzgr(capsys, "report", "verify", str(tmp_path / "evidence.zip"))
    assert code == 2 and "cannot read" in one_line_error(err)


def test_verify_says_when_a_throwaway_key_signed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    key = evidence.signer(None)
    path = tmp_path / "evidence.zip"
    path.write_bytes(evidence.build({}, {"plan": "smoke", "ok": True, "throwaway_key": True}, key.key))
    code, out, _ = jzgr(capsys, "report", "verify", str(path))
    assert code == 0 and out.startswith("VALID") and "throwaway key" in out
    path.write_bytes(evidence.build({}, {"plan": "smoke", "ok": True, "throwaway_key": False}, key.key))
    code, out, _ = jzgr(capsys, "report", "verify", str(path))
    assert code == 0 and "throwaway" not in out


def test_a_new_signing_key_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        made = evidence.signer(tmp_path / "key.pem")
    finally:
        os.umask(old)
    assert made.created and not made.throwaway
    assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600
    again = evidence.signer(tmp_path / "key.pem")
    assert not again.created and again.fingerprint == made.fingerprint


def test_waiver_files_with_a_typo_or_unknown_check_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, creds: Path
) -> None:
    waivers = tmp_path / "waivers.yaml"
    args = ["conform", "server", "--credentials", str(creds), "--report-dir", str(tmp_path / "o")]
    waivers.write_text("waivers: [{check: SIG-5, reason: later, expires: 2999-01-01}]\n", encoding="utf-8")
    code, _, err = jzgr(capsys, *args, "--waivers", str(waivers))
    assert code == 2 and "waives unknown check id SIG-5" in one_line_error(err)
    waivers.write_text("waivers: [{check: SIG-05}]\n", encoding="utf-8")
    code, _, err = jzgr(capsys, *args, "--waivers", str(waivers))
    assert code == 2 and "needs check, reason and expires" in one_line_error(err)
