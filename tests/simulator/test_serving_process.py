"""A worker made by ``create_app`` (what ``jzgr sim serve`` runs) tunes its interpreter for
serving; the test process itself keeps Python's defaults."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from simulator.asgi import COMMIT_HANDOFF_S, GC_THRESHOLDS

PROBE = """
import gc, json, sys
from simulator.asgi import create_app
create_app()
print(json.dumps({"thresholds": gc.get_threshold(), "frozen": gc.get_freeze_count(),
                  "switch": sys.getswitchinterval()}))
"""


def test_a_serving_worker_freezes_startup_objects_and_collects_less_often(tmp_path: Path) -> None:
    env = {**os.environ, "JZGR_SIM_DB": f"sqlite:///{tmp_path / 'sim.db'}"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert tuple(seen["thresholds"]) == GC_THRESHOLDS
    assert seen["frozen"] > 10_000  # the models, tables and code tables loaded at startup
    assert abs(seen["switch"] - COMMIT_HANDOFF_S) < 1e-9


def test_serving_from_a_thread_leaves_the_test_process_alone(served: object) -> None:
    assert gc.get_threshold() != GC_THRESHOLDS
