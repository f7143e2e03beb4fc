"""assets/js/dispatch.js under Node: marker styles from the hideout, the status filter, live
positions merged onto the vehicles layer (parked vehicles stay parked, no update when nothing
moved, a broken realtime client is survived) and flying to a clicked vehicle."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from backend.db.queries.fleet_state import activity_rules

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("dispatch_js_harness.js")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_dispatch_js_clientside_functions() -> None:
    result = subprocess.run(
        [
            "node",
            str(HARNESS),
            str(ROOT / "assets" / "js" / "dispatch.js"),
            json.dumps(activity_rules()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
