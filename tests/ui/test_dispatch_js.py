"""assets/js/dispatch.js under Node: stop and vehicle markers styled from the hideout's palette,
cards and labels escaped, silent vehicles greyed, a live batch moving only its vehicle (the
status rule of fleet_state applied to live fixes), route_update restyling one stop, and a
timeline click selecting a stop."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from components.dispatch import map_hideout

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("dispatch_js_harness.js")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_dispatch_js_clientside_functions() -> None:
    result = subprocess.run(
        [
            "node",
            str(HARNESS),
            str(ROOT / "assets" / "js" / "dispatch.js"),
            json.dumps(map_hideout()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
