"""Composition root: builds the Dash app, its Flask server and wires every part together."""

from __future__ import annotations

import gc

# OR-Tools must load before anything that could pull in TensorFlow (it aborts otherwise).
import ortools.constraint_solver.pywrapcp  # noqa: F401  isort: skip

import dash
from flask import has_request_context
from flask_openapi3 import Info, OpenAPI

from backend.api import register_api
from backend.api.hooks import install_dash_checks
from backend.auth.web import csrf_token, current_principal, install_guard
from backend.clock import SYSTEM_CLOCK, Clock
from backend.config import Settings, load_settings
from backend.jobs.schedule import start_schedule
from backend.ops.health import blueprint as health_blueprint
from backend.ops.logs import configure_logging, install_request_ids
from backend.ops.metrics import install_metrics
from backend.ops.security_headers import install_security_headers
from backend.ops.solver_metrics import SolverJobsCollector
from backend.realtime import init_realtime
from backend.runtime import Runtime, runtime_of
from callbacks import register_callbacks
from components.shell import create_shell, guard_page_layouts, page_permission_lookup


def make_background_manager(runtime: Runtime) -> dash.DiskcacheManager | dash.CeleryManager:
    """DiskcacheManager under DATA_DIR by default; the runtime's Celery app at scale."""
    settings = runtime.settings
    if runtime.celery is not None:
        return dash.CeleryManager(runtime.celery)
    import diskcache

    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    return dash.DiskcacheManager(diskcache.Cache(str(settings.cache_dir / "jobs")), expire=3600)


def _shell_for_request() -> object:
    # Dash also calls the layout outside a request (validation): no user there.
    if not has_request_context():
        return create_shell(None)
    return create_shell(current_principal(), csrf_token=csrf_token())


def create_app(settings: Settings | None = None, *, clock: Clock = SYSTEM_CLOCK) -> dash.Dash:
    """Build the app for `settings` (read from the environment when omitted)."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    runtime = Runtime(settings, clock)
    server = OpenAPI(
        __name__,
        info=Info(title="Fleet Dispatch API", version="1"),
        doc_prefix="/api/v1",
        doc_url="/openapi.json",
    )
    server.config["SECRET_KEY"] = settings.effective_secret_key
    runtime.init_app(server)
    install_request_ids(server)
    install_metrics(
        server,
        pool_status=runtime.db.pool_status,
        extra=(SolverJobsCollector(runtime.db.session),),
    )
    server.register_blueprint(health_blueprint)
    register_api(server)
    init_realtime(server, runtime)

    app = dash.Dash(
        __name__,
        server=server,  # type: ignore[arg-type]  # the stubs predate Flask servers
        use_pages=True,
        compress=True,
        title="Fleet Dispatch",
        suppress_callback_exceptions=True,
        background_callback_manager=make_background_manager(runtime),
        update_title=None,  # type: ignore[arg-type]  # None turns the "Updating..." title off
    )
    guard_page_layouts(current_principal)
    install_guard(server, page_permission=page_permission_lookup())
    app.layout = _shell_for_request
    register_callbacks(app)
    install_dash_checks(server, lambda: app.callback_map)
    install_security_headers(server, script_hashes=app.csp_hashes)
    if settings.analytics_schedule:
        # Each worker ticks; a claim row in the database lets one of them start each job.
        start_schedule(runtime)
    return app


app = create_app()
server = app.server
# What start-up built (Dash, plotly, SQLAlchemy, OR-Tools, the app: some 300,000 objects) lives as
# long as the process: frozen out of the collector, a full collection no longer walks it (one
# took 150 ms of the Dispatch day's callback), and forked workers keep sharing those pages.
gc.freeze()
# `celery -A app:celery_app worker` with BACKGROUND_JOBS=celery: the app Dash's jobs run on.
celery_app = runtime_of(server).celery

if __name__ == "__main__":
    from backend.cli import serve

    serve(app)
