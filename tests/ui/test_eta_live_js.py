"""assets/js/eta_live.js under Node: an `eta_update` frame rewrites the Dispatch vehicle list's
next-stop line (the server's own text as components.dispatch draws it, P50 and P10–P90 in the
depot's zone) and the stop card's ETA, flags late stops, follows a route's next stop as it
advances, leaves other depots' rows and other days' stops alone, and writes text only."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from components.dispatch import vehicle_list_rows
from tests.ui.test_dispatch import vehicle

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("eta_live_harness.js")


def test_vehicle_rows_name_their_route_for_the_live_etas() -> None:
    [row] = vehicle_list_rows([vehicle(1, route_id=4)])
    assert row["route_id"] == 4
    [row] = vehicle_list_rows([vehicle(1, route_id=None)])
    assert "route_id" not in row


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_eta_live_js_applies_frames_to_the_list_and_the_card() -> None:
    eta = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    [row] = vehicle_list_rows(
        [vehicle(2, route_id=4, next_reference="ORD-12", next_eta=eta, timezone="America/Chicago")]
    )
    assert row["next"] == "Next ORD-12 · ETA 03:00"
    result = subprocess.run(
        ["node", str(HARNESS), str(ROOT / "assets" / "js" / "eta_live.js"), json.dumps(row)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
