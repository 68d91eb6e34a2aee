"""Generated payloads (schemathesis) against the platform: FUZZ-01."""

from __future__ import annotations

import json

from conformance.catalogue import check, expect
from conformance.fuzz import fuzz
from conformance.target import Target


@check(
    "FUZZ-01",
    "Generated data is accepted when valid, refused with -1 when invalid, and never answered 5xx.",
    requirement="REQ-ENV-06",
    area="fuzzing",
)
def fuzz_01(target: Target) -> None:
    examples = int(target.cache.get("fuzz_examples", 3))  # per method and mode: the plan stays under a minute
    findings = fuzz(target, examples=examples)
    summary = [
        f"{f.method} ({f.mode}): expected {f.expected}, got {f.got}; "
        f"data = {json.dumps(f.data, ensure_ascii=False, default=repr)[:300]}"
        for f in findings
    ]
    expect(not findings, f"{len(findings)} confirmed finding(s):\n" + "\n".join(summary))
