"""Models page callbacks: what the database holds to train the models on."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output

from backend.db.queries.analytics import get_training_data
from callbacks._common import db_session, require_principal
from components import ids
from components.models import create_models_view

ROLES = ("dispatcher", "manager", "admin")


def show_models(_: Any) -> Any:
    """The models empty state with the training data counts of the user's depots."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        data = get_training_data(session, depot_ids=principal.depot_ids)
    return create_models_view(data)


def register(app: dash.Dash) -> None:
    """Register the Models callbacks on `app`."""
    app.callback(Output(ids.MODELS_CONTENT, "children"), Input(ids.MODELS_LOAD, "data"))(
        show_models
    )
