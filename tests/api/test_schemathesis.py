"""Schemathesis against the served document: every route answers only what /api/v1 documents.

The schema is read from the app itself (WSGI, in-process), so routes added later are covered
without listing them here. Schemathesis's engine, the one behind `schemathesis run`, sends valid
and invalid requests to every documented operation with the bearer token of an admin (every
depot) or of a dispatcher (one depot), on the small seeded world of conftest.py; writes really
change that fresh database. Every response must be no 5xx and have a documented status, content
type, headers and body schema.

The admin run has every phase (examples, coverage of each constraint's edges, fuzzing, stateful
chains); the dispatcher run skips the coverage phase, which would send the same edge cases
again only to be refused by scope. The engine rather than `schemathesis.pytest.from_fixture`:
that one sets `Node._nodeid`, which pytest 9 no longer has. The seed is fixed so that CI sends the
same requests every run; for a wider search run `schemathesis run` against a live server (README).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from schemathesis.engine import Status, events

pytestmark = pytest.mark.slow

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
SEED = 20260302
MAX_EXAMPLES = 10
PHASES_BY_ROLE = {
    "admin": {"coverage": True},
    "dispatcher": {"coverage": False},
}


def conformance_failures(app: Any, token: str, *, coverage: bool) -> list[str]:
    """Run schemathesis over the app's document with `token`; one line per failure or error."""
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # identity: the in-process client would hand checks the gzip bytes flask-compress sends.
            "headers": {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"},
            "workers": 1,
            "generation": {"max-examples": MAX_EXAMPLES},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            # Requests with undocumented methods only meet the 405 no check here looks at.
            "phases": {"coverage": {"enabled": coverage, "unexpected-methods": []}},
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app.server, config=config)
    problems: list[str] = []
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status == Status.SUCCESS:
                        continue
                    info = check.failure_info
                    detail = f"{info.failure.title}\n{info.code_sample}" if info else "error"
                    problems.append(f"{event.recorder.label} {check.name}: {detail}")
        elif isinstance(event, events.NonFatalError | events.FatalError):
            problems.append(f"{getattr(event, 'label', 'run')}: {event!r}")
    return sorted(set(problems))


@pytest.mark.parametrize("role", sorted(PHASES_BY_ROLE))
def test_every_route_answers_as_documented(app, world, role):
    problems = conformance_failures(app, world.tokens[role], **PHASES_BY_ROLE[role])
    assert not problems, "\n\n".join(problems)
