"""Wire-shape regressions, against the served simulator in both profiles: requests built by hand
the way the Java and Python clients seen in the field build them (their own form encoding,
headers and JSON writers, signed with ``standard.signature``), and the answers they rely on.

Client habits the simulator must keep handling: Gson's ``\\u003d`` escapes inside the signed
``data``, ``Content-Encoding: UTF-8`` on the request, ``appsecret`` posted as a form field,
numbers sent as strings, explicit nulls, unknown local keys, ``data:image/jpg`` URIs,
``CheckSign.Query`` with version ``1.1`` and a form posted without a charset. And the shapes of
issue 13: keys that differ from the standard's only in case or spelling are reported (points 3
and 9), the async ``result`` is a JSON-encoded string in every profile (point 4), a stale
timestamp's diagnostics say the offset (point 6)."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
from PIL import Image

from conformance.payloads import PayloadFactory
from simulator.clock import Clock
from simulator.platform import Platform
from simulator.server import RunningServer
from simulator.tenants import Tenant
from simulator.traffic import Entry
from standard import crypto, envelope, idcard, signature
from standard.profile import Profile, get_profile
from tests.simulator.conftest import plan_tenant

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
FORM = "application/x-www-form-urlencoded"
JAVA_HEADERS = {"Content-Type": f"{FORM}; charset=UTF-8", "User-Agent": "Apache-HttpClient/4.5.13 (Java/1.8.0_292)"}
GSON_ESCAPES = {"=": "\\u003d", "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}


def gson(data: Any) -> str:
    """``new Gson().toJson(data)``: compact, UTF-8 text kept, HTML-safe escapes in strings (the
    compact output has these characters nowhere but inside strings)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return re.sub("[=<>&']", lambda m: GSON_ESCAPES[m.group()], text)


@dataclass
class Client:
    """A vendor's hand-made client: its own form body, its own headers."""

    url: str
    tenant: Tenant
    clock: Clock

    def params(
        self, method: str, data_text: str, *, version: str = "1.0", timestamp: str | None = None
    ) -> dict[str, str]:
        params = {
            "appid": self.tenant.appid,
            "method": method,
            "version": version,
            "format": "json",
            "timestamp": timestamp or envelope.format_timestamp(self.clock.now()),
            "nonce": envelope.new_nonce(),
            "data": data_text,
        }
        params["sign"] = signature.compute_sign(params, self.tenant.appsecret)
        return params

    def post(self, pairs: list[tuple[str, str]], headers: dict[str, str] | None = None) -> dict[str, Any]:
        """``URLEncoder.encode(value, "UTF-8")`` per pair, joined with ``&``."""
        body = "&".join(f"{k}={quote_plus(v, encoding='utf-8')}" for k, v in pairs).encode()
        response = httpx.post(self.url, content=body, headers=headers or JAVA_HEADERS, timeout=10)
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
        answer: dict[str, Any] = response.json()
        return answer

    def call(self, method: str, data: Any, **kw: Any) -> dict[str, Any]:
        return self.post(list(self.params(method, gson(data) if not isinstance(data, str) else data, **kw).items()))

    def result(self, serial: str) -> dict[str, Any]:
        answer = self.call("AsyncHandleResult.Query", {"requestSerialCode": serial})
        assert answer["code"] == 0, answer
        data: dict[str, Any] = answer["data"]
        return data

    def seal(self, plaintext: str) -> str:
        return crypto.encrypt(plaintext, self.tenant.appsecret)


@pytest.fixture(params=["strict", "lenient"])
def profile(request: pytest.FixtureRequest, platform: Platform) -> Profile:
    platform.settings.profile = get_profile(request.param)
    return platform.settings.profile


@pytest.fixture
def client(profile: Profile, served: RunningServer, tenants: list[Tenant], clock: Clock) -> Client:
    return Client(served.url, tenants[0], clock)


@pytest.fixture
def any_server_client(profile: Profile, served_by_each: RunningServer, tenants: list[Tenant], clock: Clock) -> Client:
    """For the habits that meet the HTTP layer: each server ``jzgr sim serve --server`` offers."""
    return Client(served_by_each.url, tenants[0], clock)


@pytest.fixture
def factory(client: Client, clock: Clock) -> PayloadFactory:
    return PayloadFactory(plan_tenant(client.tenant), 13, now=clock.now().replace(tzinfo=None))


def last_entry(platform: Platform, method: str) -> Entry:
    return platform.traffic.query(method=method, limit=1)[0]


def team_of(client: Client, factory: PayloadFactory) -> tuple[dict[str, Any], int]:
    team = factory.team()
    answer = client.call("Team.Add", team)
    assert answer["code"] == 0, answer
    result = client.result(answer["data"]["requestSerialCode"])
    assert result["status"] == 20, result
    return team, int(json.loads(result["result"])["teamSysNo"])


def id_number(n: int) -> str:
    return idcard.make("371402", datetime(1980, 1, 1).date() + timedelta(days=n), n % 100, True)


# ---- client habits ------------------------------------------------------------------------


def test_gson_escapes_inside_the_signed_data(client: Client, factory: PayloadFactory) -> None:
    person = id_number(1)
    sealed = client.seal(person)
    assert sealed.endswith("=")  # so the escape is really exercised
    team = {**factory.team(), "responsiblePersonIDCardType": "01", "responsiblePersonIDNumber": sealed}
    text = gson(team)
    assert "\\u003d" in text and "=" not in text
    answer = client.call("Team.Add", text)
    assert answer["code"] == 0, answer
    result = client.result(answer["data"]["requestSerialCode"])
    assert result["status"] == 20, result
    rows = client.call("Team.Query", {"pageIndex": 0, "pageSize": 10, "teamName": team["teamName"]})["data"]["rows"]
    assert [crypto.decrypt(r["responsiblePersonIDNumber"], client.tenant.appsecret) for r in rows] == [person]


def test_content_encoding_utf8_on_the_request(any_server_client: Client) -> None:
    client = any_server_client
    params = client.params("Team.Query", gson({"pageIndex": 0, "pageSize": 10}))
    answer = client.post(list(params.items()), {**JAVA_HEADERS, "Content-Encoding": "UTF-8"})
    assert answer["code"] == 0 and answer["data"]["totalCount"] == 0


def test_appsecret_posted_as_a_form_field(any_server_client: Client, platform: Platform) -> None:
    client = any_server_client
    params = client.params("CheckSign.Query", gson({}))
    answer = client.post([*params.items(), ("appsecret", client.tenant.appsecret)])
    assert answer == {"code": 0, "message": "成功", "data": {"appid": client.tenant.appid}}
    assert last_entry(platform, "CheckSign.Query").to_json()["form"]["appsecret"] == "***"


def test_numbers_sent_as_strings(client: Client, factory: PayloadFactory) -> None:
    team, sys_no = team_of(client, factory)
    answer = client.call("Team.Query", {"pageIndex": "0", "pageSize": "10", "teamSysNo": str(sys_no)})
    assert answer["code"] == 0, answer
    assert [r["teamName"] for r in answer["data"]["rows"]] == [team["teamName"]]


def test_explicit_nulls_are_absent_fields(client: Client, factory: PayloadFactory, platform: Platform) -> None:
    team = {**factory.team(), "remark": None, "entryTime": None, "entryAttachments": None}
    answer = client.call("Team.Add", team)
    assert answer["code"] == 0, answer
    assert client.result(answer["data"]["requestSerialCode"])["status"] == 20
    assert last_entry(platform, "Team.Add").keys == ()  # nulls of the standard's fields are nothing to report


def test_unknown_local_keys_are_accepted_and_reported(
    client: Client, factory: PayloadFactory, platform: Platform, served: RunningServer
) -> None:
    answer = client.call("Team.Add", {**factory.team(), "localTeamId": "T-17"})
    assert answer["code"] == 0, answer
    notes = [n.to_json() for n in last_entry(platform, "Team.Add").keys]
    assert notes == [
        {
            "path": ["localTeamId"],
            "kind": "ignored",
            "standard": None,
            "text": "[localTeamId] ignored: not a field of this method",
        }
    ]
    page = httpx.get(served.url.removesuffix("/open.api") + f"/traffic/{client.tenant.appid}").text
    assert "[localTeamId] ignored: not a field of this method" in page


def test_data_image_jpg_uri(client: Client, factory: PayloadFactory) -> None:
    team, sys_no = team_of(client, factory)
    buf = io.BytesIO()
    Image.new("RGB", (80, 96), (205, 160, 130)).save(buf, "JPEG", quality=70)
    worker = {**factory.worker(), "headImage": "data:image/jpg;base64," + base64.b64encode(buf.getvalue()).decode()}
    worker["idCardNumber"] = client.seal(worker["idCardNumber"])
    worker["payRollBankCardNumber"] = client.seal(worker["payRollBankCardNumber"])
    answer = client.call("ProjectWorker.Add", factory.workers_payload(team, sys_no, [worker]))
    assert answer["code"] == 0, answer
    assert client.result(answer["data"]["requestSerialCode"])["status"] == 20


def test_check_sign_with_version_1_1(client: Client) -> None:
    answer = client.call("CheckSign.Query", {}, version="1.1")
    assert answer == {"code": 0, "message": "成功", "data": {"appid": client.tenant.appid}}


def test_form_without_a_charset_is_read_as_utf8(any_server_client: Client) -> None:
    client = any_server_client
    factory = PayloadFactory(plan_tenant(client.tenant), 13, now=client.clock.now().replace(tzinfo=None))
    team = {**factory.team(), "teamName": "水泥板组（二）"}
    params = client.params("Team.Add", gson(team))
    answer = client.post(list(params.items()), {"Content-Type": FORM})
    assert answer["code"] == 0, answer
    assert client.result(answer["data"]["requestSerialCode"])["status"] == 20
    rows = client.call("Team.Query", {"pageIndex": 0, "pageSize": 10})["data"]["rows"]
    assert [r["teamName"] for r in rows] == ["水泥板组（二）"]


# ---- point 3: keys that differ from the standard's ------------------------------------------


def test_case_variant_of_an_encrypted_field(client: Client, factory: PayloadFactory, platform: Platform) -> None:
    """``responsiblePersonIdNumber`` (plaintext) for ``responsiblePersonIDNumber`` (AES). Exact
    keys (strict): accepted without it, and the inspection log says so. Case-insensitive keys
    (lenient): it is the encrypted field, so the plaintext is refused, and the -1 says why."""
    team = {**factory.team(), "responsiblePersonIDCardType": "01", "responsiblePersonIdNumber": id_number(2)}
    answer = client.call("Team.Add", team)
    notes = [n.render() for n in last_entry(platform, "Team.Add").keys]
    if platform.settings.profile.case_insensitive_keys:
        assert answer["code"] == -1
        assert answer["message"].startswith("[responsiblePersonIDNumber]解密失败,请使用AES-256-CBC加密! (jzgr: ")
        assert "[responsiblePersonIdNumber] read as responsiblePersonIDNumber" in answer["message"]
        assert "must be AES-256-CBC ciphertext" in answer["message"]
        assert notes == ["[responsiblePersonIdNumber] read as responsiblePersonIDNumber"]
    else:
        assert answer["code"] == 0, answer
        assert notes == ["[responsiblePersonIdNumber] ignored: did you mean responsiblePersonIDNumber?"]


def test_specialty_spelled_in_lower_case(client: Client, factory: PayloadFactory, platform: Platform) -> None:
    team, sys_no = team_of(client, factory)
    worker = {**factory.worker(), "specialty": "钢筋绑扎"}
    worker["idCardNumber"] = client.seal(worker["idCardNumber"])
    worker["payRollBankCardNumber"] = client.seal(worker["payRollBankCardNumber"])
    answer = client.call("ProjectWorker.Add", factory.workers_payload(team, sys_no, [worker]))
    assert answer["code"] == 0, answer
    entry = last_entry(platform, "ProjectWorker.Add")
    (note,) = entry.keys
    assert note.path == ("workerList", 0, "specialty") and note.standard == "Specialty"
    if platform.settings.profile.case_insensitive_keys:
        assert note.kind == "case-matched" and entry.data["workerList"][0]["Specialty"] == "钢筋绑扎"
    else:
        assert note.kind == "near-miss" and "Specialty" not in entry.data["workerList"][0]


def test_pay_bank_card_number_with_a_capital_p(client: Client, factory: PayloadFactory, platform: Platform) -> None:
    """XN's test writes ``PayBankCardNumber``: required under its exact name, so exact keys refuse
    it as missing, and the -1 names the key that was not read."""
    team, sys_no = team_of(client, factory)
    pay = factory.payroll(team, sys_no, [id_number(3)])
    detail = pay["detailList"][0]
    detail["idCardNumber"] = client.seal(detail["idCardNumber"])
    detail["payRollBankCardNumber"] = client.seal(detail["payRollBankCardNumber"])
    detail["PayBankCardNumber"] = client.seal(detail.pop("payBankCardNumber"))
    answer = client.call("Payroll.Add", pay)
    if platform.settings.profile.case_insensitive_keys:
        assert answer["code"] == 0, answer
        assert [n.kind for n in last_entry(platform, "Payroll.Add").keys] == ["case-matched"]
    else:
        assert answer["code"] == -1
        assert answer["message"] == (
            "[detailList][0][payBankCardNumber]不能为空! "
            "(jzgr: [detailList][0][PayBankCardNumber] ignored: did you mean payBankCardNumber?)"
        )


def test_team_leader_id_number_is_never_returned_in_plaintext(client: Client, factory: PayloadFactory) -> None:
    """Team.Add's ``teamLeaderIdNumber`` (XN's spelling, AES) comes back encrypted in Team.Query
    rows, whose standard spelling is ``teamLeaderIDNumber``."""
    leader = id_number(4)
    team = {**factory.team(), "teamLeaderIdcardType": "01", "teamLeaderIdNumber": client.seal(leader)}
    answer = client.call("Team.Add", team)
    assert answer["code"] == 0, answer
    assert client.result(answer["data"]["requestSerialCode"])["status"] == 20
    (row,) = client.call("Team.Query", {"pageIndex": 0, "pageSize": 10})["data"]["rows"]
    assert leader not in json.dumps(row)
    assert crypto.decrypt(row["teamLeaderIdNumber"], client.tenant.appsecret) == leader


# ---- point 4: the async result's shape ----------------------------------------------------


def test_async_result_is_a_json_encoded_string_in_every_profile(client: Client, factory: PayloadFactory) -> None:
    ok = client.call("Team.Add", factory.team())
    failed = client.call("Team.Add", factory.team(corp_code=factory.credit_code(), corp_name="不参建的公司"))
    done = client.result(ok["data"]["requestSerialCode"])
    refused = client.result(failed["data"]["requestSerialCode"])
    assert (done["status"], refused["status"]) == (20, 10)
    assert isinstance(done["result"], str) and isinstance(json.loads(done["result"])["teamSysNo"], int)
    assert isinstance(refused["result"], str) and "参建单位" in refused["result"]


# ---- point 6: a stale timestamp says why ----------------------------------------------------

SKEWS: dict[str, tuple[Callable[[datetime], datetime], str]] = {
    "utc-host": (lambda now: datetime.now(UTC), "8 h behind: is your system sending UTC?"),
    "an-hour-ahead": (lambda now: now + timedelta(hours=1), "1 h ahead: is the timestamp in UTC+9"),
    "minutes-behind": (lambda now: now - timedelta(minutes=15), "15 min behind: the client's clock is off"),
}


@pytest.mark.parametrize("skew", sorted(SKEWS))
def test_stale_timestamp_diagnostics(client: Client, clock: Clock, skew: str) -> None:
    clock.freeze()
    shifted, says = SKEWS[skew]
    now = clock.now()
    sent = shifted(now)
    stamp = sent.strftime(envelope.TIMESTAMP_FORMAT)  # the host's wall clock, as such clients format it
    answer = client.call("Team.Query", {"pageIndex": 0, "pageSize": 10}, timestamp=stamp)
    received = datetime.strptime(stamp, envelope.TIMESTAMP_FORMAT)
    assert answer["code"] == -1
    assert answer["message"].startswith(
        "请求参数无效:timestamp已过期,与服务器时间相差超过10分钟! (jzgr: "
        f"platform time {now:%Y-%m-%d %H:%M:%S} Beijing, timestamp received {received:%Y-%m-%d %H:%M:%S}: {says}"
    ), answer["message"]
