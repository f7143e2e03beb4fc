"""Child process that runs the OR-Tools engine for ``engine="auto"``.

Started as ``python -m backend.solver.worker`` (not multiprocessing), so the
parent's main module (the web app) is never re-imported.  Protocol: the parent
writes one pickled ``(compiled, orders, time_limit, max_iterations)`` tuple to
stdin and may later write a line ``stop``; the child writes one pickled
:class:`EngineResult` to stdout.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading

from backend.solver.ortools_engine import solve_ortools
from backend.solver.progress import Progress


def main() -> None:
    """Read a job from stdin, solve it with OR-Tools, write the result to stdout."""
    stdin = sys.stdin.buffer
    compiled, orders, time_limit, max_iterations = pickle.load(stdin)
    stop = threading.Event()

    def listen() -> None:
        # Any line (or the parent closing the pipe) means stop now.
        stdin.readline()
        stop.set()

    threading.Thread(target=listen, daemon=True).start()
    result = solve_ortools(
        compiled,
        orders,
        time_limit=time_limit,
        progress=Progress(cancel=stop),
        max_iterations=max_iterations,
    )
    sys.stdout.buffer.write(pickle.dumps(result))
    sys.stdout.buffer.flush()
    # The listener thread still blocks on stdin: a normal interpreter shutdown
    # waits about a second for its lock and then aborts, which made every race
    # overrun its budget and drop OR-Tools' result.  Nothing is left to clean up.
    os._exit(0)


if __name__ == "__main__":
    main()
