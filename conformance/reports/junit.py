"""JUnit XML for Jenkins and GitLab: one testsuite per area, one testcase per check."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from itertools import groupby
from pathlib import Path

from conformance.runner import Run


def write(run: Run, path: Path) -> None:
    root = ET.Element("testsuites", name=f"jzgr conformance ({run.plan}, {run.profile})")
    ordered = sorted(run.results, key=lambda r: r.check.area)
    for area, group in groupby(ordered, key=lambda r: r.check.area):
        results = list(group)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=area,
            tests=str(len(results)),
            failures=str(sum(r.status == "failed" for r in results)),
            errors=str(sum(r.status == "error" for r in results)),
            skipped=str(sum(r.status in ("skipped", "waived") for r in results)),
            time=f"{sum(r.duration for r in results):.3f}",
        )
        for r in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"jzgr.{area}",
                name=f"{r.check.id} {r.check.statement}",
                time=f"{r.duration:.3f}",
            )
            props = ET.SubElement(case, "properties")
            check = r.check
            for key, value in (
                ("requirement", check.requirement.id),
                ("clause", check.clause),
                ("severity", check.severity),
                ("status", r.status),
            ):
                ET.SubElement(props, "property", name=key, value=value)
            if r.status == "failed":
                ET.SubElement(
                    case, "failure", message=r.message.splitlines()[0] if r.message else "failed"
                ).text = r.message
            elif r.status == "error":
                ET.SubElement(
                    case, "error", message=r.message.splitlines()[0] if r.message else "error"
                ).text = r.message
            elif r.status == "skipped":
                ET.SubElement(case, "skipped", message=r.message)
            elif r.status == "waived" and r.waiver is not None:
                ET.SubElement(case, "skipped", message=f"WAIVED until {r.waiver.expires}: {r.waiver.reason}")
            if r.exchanges:
                ET.SubElement(case, "system-out").text = json.dumps(
                    [e.to_json() for e in r.exchanges], ensure_ascii=False, indent=1
                )
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
