"""Which client checks catch each defect switch of the reference vendor (docs/vendor.md's table,
checked against a run of the plan per defect by tests/conformance/test_client_plan.py)."""

from __future__ import annotations

DETECTION: dict[str, tuple[str, ...]] = {
    "forgets-to-encrypt-id": ("CL-ENC-01",),
    "signs-url-encoded": ("CL-SIG-01",),
    "no-async-poll": ("CL-ASYNC-01",),
    "duplicate-after-retry": ("CL-ATT-01",),
    "drop-on-5xx": ("CL-ATT-01", "CL-RETRY-01"),
    "retry-refusals-forever": ("CL-RETRY-03",),
    "upload-strangers": ("CL-ATT-04",),
    "oversize-datalist": ("CL-LIM-01",),
    "late-upload": ("CL-ATT-03",),
    "swap-direction": ("CL-ATT-02",),
    "volatile-outbox": ("CL-DUR-01",),
    "skip-entry": ("CL-ENTRY-01",),
}
