"""``jzgr client call --data`` takes a file, the JSON itself, or ``-`` for standard input."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from jzgr.cli import main

URL = "http://platform.test/open.api"
SECRET = "0123456789abcdef0123456789abcdef"
QUERY = {"projectCode": "37140220190101001", "pageIndex": 0, "pageSize": 10, "teamName": "钢筋一班"}


def _call(tmp_path: Path, data: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object], str]:
    sent: dict[str, object] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        sent.update(json.loads(form["data"]))
        return httpx.Response(200, json={"code": 0, "message": "成功", "data": {"pageIndex": 0, "rows": []}})

    with respx.mock:
        respx.post(URL).mock(side_effect=answer)
        with pytest.raises(SystemExit) as ended:
            main(["client", "call", "Team.Query", "--data", data, "--url", URL, "--appid", "1", "--secret", SECRET])
    return int(ended.value.code or 0), sent, capsys.readouterr().err


def test_inline_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, sent, err = _call(tmp_path, json.dumps(QUERY, ensure_ascii=False), capsys)
    assert code == 0, err
    assert sent["teamName"] == "钢筋一班" and sent["pageSize"] == 10


def test_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(QUERY)))
    code, sent, err = _call(tmp_path, "-", capsys)
    assert code == 0, err
    assert sent["projectCode"] == QUERY["projectCode"]


def test_a_file_still_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps(QUERY), encoding="utf-8")
    code, sent, err = _call(tmp_path, str(path), capsys)
    assert code == 0 and sent["pageIndex"] == 0, err


@pytest.mark.parametrize(
    ("data", "says"),
    [("{not json", "--data (inline JSON): not JSON"), ("nope.json", "--data nope.json: cannot read it")],
)
def test_bad_data_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data: str, says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, sent, err = _call(tmp_path, data, capsys)
    assert code == 2 and sent == {}
    assert err.startswith(f"error: {says}") and len(err.strip().splitlines()) == 1
