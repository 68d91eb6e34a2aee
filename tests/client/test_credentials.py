"""The credentials file is one contract (issue 14): what the simulator writes is what the client
and the conformance runner read, and a file that is not one says what is wrong in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.target import load_credentials
from platform_client import credentials
from platform_client.credentials import CredentialsError, CredentialsFile, TenantCredentials
from simulator.seed import credentials as written_by_the_simulator
from simulator.tenants import Tenant


def test_what_the_simulator_writes_every_reader_reads(tmp_path: Path) -> None:
    tenants = [
        Tenant("37140220190101001", "a" * 32, projects=["37140220190101001"]),
        Tenant("91371400MA3C0001X1", "b" * 32, mode="enterprise", corpKey="c" * 16, corpCode="91371400MA3C0001X1"),
    ]
    path = tmp_path / "creds.json"
    path.write_text(json.dumps(written_by_the_simulator("http://127.0.0.1:1/open.api", tenants)), encoding="utf-8")
    found = credentials.load(path)
    assert found.url == "http://127.0.0.1:1/open.api"
    assert found.tenants[0] == TenantCredentials("37140220190101001", "a" * 32, "project", "37140220190101001")
    assert found.tenant("91371400MA3C0001X1") == found.tenants[1] and found.tenants[1].corpKey == "c" * 16
    assert load_credentials(path) == (found.url, list(found.tenants))
    assert "corpKey" not in found.to_json()["tenants"][0]  # written only when there is one


def test_readers_ignore_extra_keys_and_read_a_numeric_appid() -> None:
    text = '{"tenants": [{"appid": 37140220190101001, "appsecret": "s", "disabled": false, "projects": []}]}'
    assert credentials.parse(text, "x.json").tenants[0].appid == "37140220190101001"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{", "x.json is not JSON: "),
        ("[]", "x.json holds a JSON list; it must be"),
        ('{"url": "u"}', 'x.json has no "tenants" list'),
        ('{"tenants": ["a"]}', "x.json: tenants[0] is not an object with appid and appsecret"),
        ('{"tenants": [{"appid": "1", "appsecret": ""}]}', "x.json: tenants[0] has no appsecret"),
        ('{"tenants": [{}]}', "x.json: tenants[0] has no appid or appsecret"),
        ('{"url": ["u"], "tenants": []}', 'x.json: "url" must be a string'),
    ],
)
def test_a_bad_file_is_one_line(text: str, says: str) -> None:
    with pytest.raises(CredentialsError) as raised:
        credentials.parse(text, "x.json")
    assert str(raised.value).startswith(says) and "\n" not in str(raised.value)


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError) as raised:
        credentials.load(tmp_path / "nope.json")
    assert not raised.value.readable and raised.value.reason == "No such file or directory"
    assert CredentialsFile(tenants=[]).tenant(None) is None
