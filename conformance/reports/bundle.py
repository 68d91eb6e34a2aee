"""Write every report of a run into a directory: JUnit XML, JSON, HTML and the signed evidence
package, with the metadata that makes a run reproducible."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from conformance.catalogue import CATALOGUE_VERSION, all_checks
from conformance.reports import evidence, html, junit
from conformance.runner import Run


def spec_hash() -> str:
    """SHA-256 over the specification data the checks rely on (vectors, code tables, requirements)."""
    digest = hashlib.sha256()
    for name in ("vectors.json", "code-tables.json", "regions.json", "requirements.yaml"):
        digest.update(files("fixtures").joinpath("data", name).read_bytes())
    return digest.hexdigest()


def catalogue_hash() -> str:
    text = json.dumps(
        [[c.id, c.statement, c.requirement.id, c.clause, c.severity] for c in all_checks().values()], ensure_ascii=False
    )
    return hashlib.sha256(text.encode()).hexdigest()


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jzgr")
    except PackageNotFoundError:  # running from a checkout without installing
        return "unknown"


@dataclass(frozen=True)
class Written:
    junit: Path
    json: Path
    html: Path
    evidence: Path
    fingerprint: str


def signing_note(signer: evidence.Signer) -> str:
    """What the signature of this run's evidence proves, as the reports and the terminal say it."""
    if signer.throwaway:
        return (
            f"{signer.fingerprint}, a throwaway key made for this run and not kept: the signature proves "
            "the package is unchanged, not who signed it (keep a key with --signing-key FILE)"
        )
    return f"{signer.fingerprint} ({signer.path})"


def write_all(
    run: Run, out: Path, *, signing_key: Path | None = None, signer: evidence.Signer | None = None
) -> Written:
    """Write every report of ``run`` into ``out``, signed by ``signer`` (default: the key at
    ``signing_key``, or a throwaway key); OSError when ``out`` cannot be written."""
    signer = signer or evidence.signer(signing_key)
    out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "tool_version": tool_version(),
        "catalogue_version": CATALOGUE_VERSION,
        "catalogue_sha256": catalogue_hash(),
        "spec_sha256": spec_hash(),
        "signed_by": signing_note(signer),
        "throwaway_key": signer.throwaway,
    }
    paths = Written(out / "junit.xml", out / "report.json", out / "report.html", out / "evidence.zip", "")
    junit.write(run, paths.junit)
    paths.json.write_text(json.dumps({**run.to_json(), "meta": meta}, ensure_ascii=False, indent=1), encoding="utf-8")
    html.write(run, paths.html, meta)
    plan = [
        [r.check.id, r.check.statement, r.check.requirement.id, r.check.clause, r.check.severity] for r in run.results
    ]
    manifest = {
        "kind": "jzgr-conformance-evidence/1",
        "plan": run.plan,
        "profile": run.profile,
        "target": run.target_url,
        "seed": run.seed,
        "started": run.started.isoformat(),
        "finished": run.finished.isoformat() if run.finished else None,
        "ok": run.ok,
        "fail_on": run.fail_on,
        "verdict": run.verdict(),
        "checks": plan,
        **meta,
    }
    bundle = {p.name: p.read_bytes() for p in (paths.junit, paths.json, paths.html)}
    paths.evidence.write_bytes(evidence.build(bundle, manifest, signer.key))
    fp = evidence.verify(paths.evidence.read_bytes()).fingerprint
    return Written(paths.junit, paths.json, paths.html, paths.evidence, fp)
