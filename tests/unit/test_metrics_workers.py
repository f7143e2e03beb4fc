"""/metrics with several gunicorn workers: counters add up over every worker's process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_counters_of_two_workers_add_up_in_one_scrape(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for received in (3, 4):  # two worker processes, each counting its own frames
        _python(f"from backend.realtime.metrics import MESSAGES; MESSAGES.inc({received})", env)
    text = _python(
        "import backend.realtime.metrics\n"
        "from prometheus_client import generate_latest\n"
        "from backend.ops.metrics import scrape_registry\n"
        "print(generate_latest(scrape_registry()).decode())",
        env,
    )
    assert "ws_messages_received_total 7.0" in text
    # Without the setting a process reports only itself (the single-process default).
    alone = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    text = _python(
        "from backend.realtime.metrics import MESSAGES; MESSAGES.inc(2)\n"
        "from prometheus_client import generate_latest\n"
        "from backend.ops.metrics import scrape_registry\n"
        "print(generate_latest(scrape_registry()).decode())",
        alone,
    )
    assert "ws_messages_received_total 2.0" in text
