"""The web process never imports TensorFlow: the app, the Models page's callbacks (the
forecast's and the learned travel times' included) and NumPy serving all run in a fresh
interpreter that ends with neither tensorflow nor keras loaded."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from datetime import UTC, date, datetime

    import pandas as pd

    from app import create_app
    from backend.config import load_settings
    from backend.db.migrate import upgrade
    from backend.db.queries.analytics import TrainingData
    from backend.ml import demand, learned_matrix, launch, jobs, overview, registry, serving
    from backend.ml import fleet_size, forecast
    from components.models import create_forecast_view
    import callbacks.models
    from components.models import create_models_view, describe_progress
    from backend.ml.overview import VersionDetail, VersionRow

    dash_app = create_app(load_settings(DEMO=False))
    runtime = dash_app.server.extensions["fleet"]
    upgrade(runtime.db.engine)
    client = dash_app.server.test_client()
    assert client.get("/models").status_code in (200, 302)
    with runtime.db.session() as session:
        assert overview.list_registry(session) == []
        assert serving.active_model(session, runtime.settings) is None
        assert forecast.get_forecast_view(session, depot_ids=None) is None
        assert learned_matrix.active_factors(session, runtime.settings) is None
    create_forecast_view(None)
    row = VersionRow(1, "eta", 1, "active", datetime(2026, 11, 27, tzinfo=UTC), date(2026, 9, 1),
                     date(2026, 11, 26), 1.6, 0.8, "promoted")
    detail = VersionDetail(1, {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]},
                           {"quantiles": [0.1, 0.5, 0.9],
                            "targets": {"leg_min": {"actual": [3.0], "predicted": [[2, 3, 4]]}}},
                           [{"day": "2026-11-28", "p10": 300, "p50": 350, "p90": 400}])
    create_models_view(TrainingData(1, 1, None, None, 1, 1, None, None, 0, 0), [row], detail)
    describe_progress({"stage": "training", "epoch": 1, "epochs": 3, "val_loss": 0.1})
    legs = pd.DataFrame()
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
    print("LOADED", loaded)
    assert not loaded, loaded
    """
)


def test_app_pages_callbacks_and_serving_import_no_tensorflow(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DEMO": "false", "APP_ENV": "test"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "LOADED []" in done.stdout
