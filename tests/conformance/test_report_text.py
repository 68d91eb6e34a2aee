"""The HTML report shows Chinese in request data as Chinese, not as \\u escapes, and still escapes HTML."""

from __future__ import annotations

from pathlib import Path

from conformance import runner
from conformance.reports import bundle
from conformance.target import Exchange, Target, Tenant


def test_chinese_request_data_reads_as_chinese(tmp_path: Path, dead_url: str) -> None:
    # the platform is down: the check errs, and its exchange is replaced below
    target = Target(dead_url, Tenant("37140220190101001", "0123456789abcdef0123456789abcdef"), poll_timeout=0.1)
    run = runner.run(target, only=["ASYNC-01"])
    form = {"method": "Team.Add", "data": '{"teamName":"钢筋一班","corpName":"德州建工<集团>"}'}
    run.results[0].exchanges = [Exchange("Team.Add", form, 200, '{"code":0,"message":"成功"}', 3.0)]
    page = bundle.write_all(run, tmp_path).html.read_text(encoding="utf-8")
    assert "钢筋一班" in page and "德州建工" in page
    assert "\\u94a2" not in page and "\\u5fb7" not in page
    assert "<集团>" not in page  # still escaped for HTML
