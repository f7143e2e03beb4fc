"""The browser client (assets/js/realtime.js) under Node with a fake WebSocket and clock:
backoff 1 s x2 +/-10% capped at 30 s and reset on success, no reconnect after 1000/1008,
reconnect after 1001/1011 and when the browser is back online, the shell badge, and the
positions contract (onPositions, latest(), the fleet:positions event, snapshots, stale fixes)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "assets" / "js" / "realtime.js"

HARNESS = Path(__file__).with_name("realtime_client_harness.js")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_realtime_js_contract_and_reconnection() -> None:
    result = subprocess.run(
        ["node", str(HARNESS), str(SCRIPT)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
