"""Named bugs the reference vendor can be switched into (``--defect NAME``), for testing the
harness that must catch them: off by default, never for production. Each is one small branch in
the code, found by searching for its name."""

from __future__ import annotations

DEFECTS: dict[str, str] = {
    "forgets-to-encrypt-id": "sends ID and bank card numbers in plaintext instead of AES ciphertext",
    "signs-url-encoded": "computes the signature over URL-encoded values instead of the raw ones",
    "no-async-poll": "takes an accepted upload for done, without polling its async result (Team.Add aside)",
    "duplicate-after-retry": "uploads a batch a second time when its first send needed a retry",
    "drop-on-5xx": "drops a batch (marks it done) when the platform answers 5xx instead of retrying it",
    "retry-refusals-forever": "retries a refused request (-1/-2/-3) again and again (capped by refusal_retry_cap)",
    "upload-strangers": "uploads stranger and failed-liveness events as attendance",
    "oversize-datalist": "gathers attendance into batches of 25 (the platform allows 20)",
    "late-upload": "holds every clock-in for late_upload_s seconds (default 3 h) before uploading it",
    "swap-direction": "uploads an entry gate's clock-ins as 02 (out) and an exit gate's as 01 (in)",
    "volatile-outbox": "keeps its outbox in memory: whatever was not uploaded is lost on restart",
    "skip-entry": "never uploads entry records (WorkerEntryExit.Add) and does not wait for them",
}


def check(names: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The switches asked for; ValueError naming an unknown one."""
    unknown = [n for n in names if n not in DEFECTS]
    if unknown:
        raise ValueError(f"unknown defect {unknown[0]!r}; known: {', '.join(DEFECTS)}")
    return frozenset(names)
