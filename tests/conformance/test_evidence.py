"""The evidence package verifies, and fails after any byte of it is changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from conformance.reports import evidence
from jzgr.cli import app


@pytest.fixture(scope="module")
def package() -> bytes:
    key = evidence.load_or_create_key(None)
    return evidence.build({"report.json": b'{"ok": true}', "junit.xml": b"<testsuites/>"}, {"plan": "smoke"}, key)


def test_a_fresh_package_verifies(package: bytes) -> None:
    verified = evidence.verify(package)
    assert verified.manifest["plan"] == "smoke"
    assert set(verified.manifest["files"]) == {"report.json", "junit.xml"}


def test_changing_any_byte_fails(package: bytes) -> None:
    for position in range(len(package)):
        tampered = bytearray(package)
        tampered[position] ^= 0x20
        with pytest.raises(evidence.EvidenceError):
            evidence.verify(bytes(tampered))


def test_truncation_and_appending_fail(package: bytes) -> None:
    for bad in (package[:-1], package + b"\0", package[1:], b""):
        with pytest.raises(evidence.EvidenceError):
            evidence.verify(bad)


def test_re_signing_with_another_key_is_caught_by_the_pinned_fingerprint(package: bytes) -> None:
    original = evidence.verify(package).fingerprint
    other = evidence.build({"report.json": b'{"ok": false}'}, {"plan": "smoke"}, evidence.load_or_create_key(None))
    evidence.verify(other)  # valid on its own …
    with pytest.raises(evidence.EvidenceError):
        evidence.verify(other, trusted_fingerprint=original)  # … but not signed by the trusted key


def test_key_is_saved_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    first = evidence.load_or_create_key(path)
    second = evidence.load_or_create_key(path)
    assert first.public_key().public_bytes_raw() == second.public_key().public_bytes_raw()


def test_cli_verify(tmp_path: Path, package: bytes) -> None:
    path = tmp_path / "evidence.zip"
    path.write_bytes(package)
    runner = CliRunner()
    ok = runner.invoke(app, ["report", "verify", str(path)])
    assert ok.exit_code == 0 and ok.stdout.startswith("VALID")
    path.write_bytes(package[:100] + bytes([package[100] ^ 1]) + package[101:])
    bad = runner.invoke(app, ["report", "verify", str(path)])
    assert bad.exit_code == 1 and "INVALID" in bad.output
