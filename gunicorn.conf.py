"""gunicorn settings for `gunicorn app:server`: migrate (and seed the demo) once, before forking."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8050')}"
# gunicorn 27 otherwise writes a control socket under the home directory.
control_socket_disable = True
# Workers import the app after the master has migrated; no database handle crosses the fork.
preload_app = False
timeout = 60
graceful_timeout = 20


def on_starting(server: object) -> None:
    """Bring the schema up to date (and seed an empty demo database) once per deployment."""
    from backend.cli import prepare_database, print_credentials, seed_if_empty
    from backend.config import load_settings

    settings = load_settings()
    database = prepare_database(settings)
    if settings.demo:
        print_credentials(seed_if_empty(database, settings))
    database.engine.dispose()
