"""Moves the wall clock of every Python process of `make test-moved-clock` (not the tests' code).

Python puts this folder on `sys.path` through PYTHONPATH and imports it at start-up, so the
test process and every job, solver and simulator process it starts see the same moved time:
the first process turns FLEET_MOVED_CLOCK into an offset that its children inherit. Only the
wall clock moves; the monotonic clock (timeouts, waits, solver budgets) stays real.
"""

import os
import time
from datetime import UTC, datetime

_target = os.environ.get("FLEET_MOVED_CLOCK")
if _target:
    import time_machine

    if "FLEET_CLOCK_OFFSET_S" not in os.environ:
        moved = datetime.fromisoformat(_target)
        os.environ["FLEET_CLOCK_OFFSET_S"] = str((moved - datetime.now(UTC)).total_seconds())
    # A float destination is a plain timestamp: the process's local time zone (TZ) stays.
    time_machine.travel(time.time() + float(os.environ["FLEET_CLOCK_OFFSET_S"]), tick=True).start()
