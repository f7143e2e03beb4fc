"""The one entry point: :func:`solve` a :class:`Problem` into a :class:`Plan`.

Engines: ``"ortools"`` (every constraint), ``"pyvrp"`` (everything but
pickup-and-delivery pairs, see :mod:`backend.solver.pyvrp_engine`) and
``"auto"``: when PyVRP can express the problem, the budget is at least
``PARALLEL_MIN_SECONDS`` and a second core is idle (by the load average),
OR-Tools runs in a child process while PyVRP runs here (one core each) and the
better plan is kept; otherwise PyVRP runs alone; when PyVRP cannot express the
problem OR-Tools runs alone.

Both engines search the problem with break time reserved from each shift
(:func:`backend.solver.compile.reserve_breaks`); breaks are placed afterwards.

Every engine result is checked before it becomes a plan: infeasible routes are
repaired (:mod:`backend.solver.repair`); when the repair has to leave out
mandatory orders the engine had served and ``auto`` did not run the other
engine, the other engine gets ``FALLBACK_SHARE`` of the budget (at least
``FALLBACK_MIN_SECONDS``, on top of it) and the better checked plan is kept.
The finished plan is checked once more (:func:`backend.solver.assemble.check_plan`)
and carries whatever that finds in ``Plan.violations``.

Orders no vehicle could serve even on its own are set aside before the search
(they would only slow it down) and reported with their reason.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal, get_args

from backend.solver.assemble import build_plan
from backend.solver.compile import COST_SCALE, Compiled, compile_problem, reserve_breaks
from backend.solver.evaluate import objective
from backend.solver.explain import explain_order
from backend.solver.matrix import Matrices, MatrixProvider
from backend.solver.model import Plan, Problem, ProblemError, Stop, validate
from backend.solver.ortools_engine import EngineResult, solve_ortools
from backend.solver.progress import Cancel, OnImprove, Progress
from backend.solver.pyvrp_engine import solve_pyvrp, supports
from backend.solver.repair import repair

#: The engines, listed once: the planning request model validates against this type.
EngineName = Literal["auto", "ortools", "pyvrp"]
ENGINES: tuple[str, ...] = get_args(EngineName)
log = logging.getLogger(__name__)
#: Below this budget "auto" runs PyVRP only; the OR-Tools process costs ~0.3 s to start.
PARALLEL_MIN_SECONDS = 2.0
#: Budget of the other engine when one engine's plan could not be repaired in full.
FALLBACK_SHARE, FALLBACK_MIN_SECONDS = 0.25, 0.5


def _spare_core() -> bool:
    """Whether a second core is likely idle (CPUs this process may use vs. the 1-min load)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return cpus >= 2 and load <= cpus - 1


def _race(
    c: Compiled,
    orders: list[int],
    *,
    deadline: float,
    progress: Progress,
    seed: int,
    max_iterations: int | None,
) -> list[tuple[str, EngineResult]]:
    """Run OR-Tools in a spawned process and PyVRP here; return both (engine, result) pairs.

    A process, not a thread: OR-Tools holds the interpreter lock while it
    searches, which starved PyVRP to ~2% of its iterations in a thread.  A
    plain subprocess, not multiprocessing: spawn would re-import the caller's
    main module (the web app) in the child.
    """
    remaining = max(0.01, deadline - time.monotonic())
    root = Path(__file__).resolve().parents[2]
    # The child's clock starts after its imports (~0.25 s); give it the rest.
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.solver.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=root,
    )
    assert proc.stdin is not None and proc.stdout is not None
    payload = pickle.dumps((c, orders, max(0.05, remaining - 0.3), max_iterations))
    stdin = proc.stdin

    def feed() -> None:
        # The pipe holds 64 KiB and the child reads only once its imports are
        # done: writing from here would eat PyVRP's budget.
        try:
            stdin.write(payload)
            stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    feeder = threading.Thread(target=feed, name="solver-feed", daemon=True)
    feeder.start()
    pyvrp_result, _ = _run_pyvrp(
        c, orders, deadline=deadline, progress=progress, seed=seed, max_iterations=max_iterations
    )
    candidates = [("pyvrp", pyvrp_result)]
    feeder.join(timeout=1.0)
    if progress.cancelled():
        try:
            stdin.write(b"stop\n")
            stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
    try:
        # OR-Tools honours its limit once searching; only a slow first solution
        # on a big instance overruns, and then PyVRP's plan is used.
        out, _ = proc.communicate(timeout=max(0.5, deadline - time.monotonic() + 0.5))
        if proc.returncode == 0 and out:
            candidates.append(("ortools", pickle.loads(out)))
        else:
            log.warning("OR-Tools worker failed (exit %s); using PyVRP's plan", proc.returncode)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        log.info("OR-Tools worker overran its budget; using PyVRP's plan")
    return candidates


def serviceable_orders(c: Compiled) -> list[int]:
    """Order indices that at least one vehicle could serve on its own (pairs together)."""
    return [i for i in range(c.num_orders) if explain_order(c, i) is None]


def _run_pyvrp(
    c: Compiled,
    orders: list[int],
    *,
    deadline: float,
    progress: Progress,
    seed: int,
    max_iterations: int | None,
) -> tuple[EngineResult, bool]:
    res, feasible = solve_pyvrp(
        c,
        orders,
        time_limit=max(0.01, deadline - time.monotonic()),
        progress=progress,
        seed=seed,
        max_iterations=max_iterations,
    )
    if not feasible and not progress.cancelled() and time.monotonic() < deadline:
        # Required clients could not all be routed (fleet too small): let PyVRP
        # drop some, priced at their penalties, for the rest of the budget.
        res, feasible = solve_pyvrp(
            c,
            orders,
            time_limit=max(0.01, deadline - time.monotonic()),
            progress=progress,
            seed=seed,
            max_iterations=max_iterations,
            optional=True,
        )
    return res, feasible


def _checked(
    c: Compiled, result: EngineResult, orders: list[int]
) -> tuple[list[list[int]], tuple[int, int, int]]:
    """The result's routes repaired against every constraint, and their objective."""
    routes, moved = repair(c, result.routes, orders)
    if moved:
        log.info("repaired an engine result: %d stops moved or left out", moved)
    return routes, objective(c, routes)


def solve_compiled(
    c: Compiled,
    *,
    engine: str,
    time_limit: float,
    progress: Progress,
    seed: int = 0,
    max_iterations: int | None = None,
    initial: list[list[int]] | None = None,
    prefixes: Sequence[Sequence[Stop]] | None = None,
    started: float | None = None,
) -> Plan:
    """Run the chosen engine(s) on an already compiled problem, check, repair, build the plan."""
    started = time.monotonic() if started is None else started
    deadline = started + time_limit
    orders = serviceable_orders(c)
    search = reserve_breaks(c)
    can_pyvrp = supports(search, orders)
    if engine == "pyvrp" and not can_pyvrp:
        raise ProblemError(
            "engine", "pyvrp cannot express pickup-and-delivery pairs; use 'ortools' or 'auto'"
        )

    def ortools(until: float) -> EngineResult:
        return solve_ortools(
            search,
            orders,
            time_limit=max(0.01, until - time.monotonic()),
            progress=progress,
            max_iterations=max_iterations,
            initial=initial,
        )

    def pyvrp(until: float) -> EngineResult:
        return _run_pyvrp(
            search,
            orders,
            deadline=until,
            progress=progress,
            seed=seed,
            max_iterations=max_iterations,
        )[0]

    candidates: list[tuple[str, EngineResult]]
    if engine == "ortools" or (engine == "auto" and not can_pyvrp) or not orders:
        candidates = [("ortools", ortools(deadline))]
    elif engine == "pyvrp" or time_limit < PARALLEL_MIN_SECONDS or not _spare_core():
        # Too short to amortize starting a second process, or no idle core to
        # run it on (it would halve PyVRP's speed): PyVRP alone is the
        # stronger engine on the problems it expresses.
        candidates = [("pyvrp", pyvrp(deadline))]
    else:
        candidates = _race(
            search,
            orders,
            deadline=deadline,
            progress=progress,
            seed=seed,
            max_iterations=max_iterations,
        )
    checked = [(name, *_checked(c, res, orders), res) for name, res in candidates]
    # Feasible first, then fewest mandatory orders missed, then cost; ties go to PyVRP.
    used, routes, key, raw = min(checked, key=lambda x: x[2])
    lost = key[1] > objective(c, raw.routes)[1]
    other = "ortools" if used == "pyvrp" else "pyvrp"
    if (
        lost
        and len(candidates) == 1
        and engine == "auto"
        and (other == "ortools" or can_pyvrp)
        and not progress.cancelled()
    ):
        until = time.monotonic() + max(FALLBACK_MIN_SECONDS, FALLBACK_SHARE * time_limit)
        log.info("%s's plan lost orders in repair; falling back to %s", used, other)
        res = ortools(until) if other == "ortools" else pyvrp(until)
        alt_routes, alt_key = _checked(c, res, orders)
        if alt_key < key:
            used, routes, key = other, alt_routes, alt_key
    elapsed = time.monotonic() - started
    plan = build_plan(c, routes, engine=used, solve_time=elapsed, prefixes=prefixes)
    if plan.violations:
        log.warning("plan breaks %d constraints: %s", len(plan.violations), plan.violations[:3])
    progress.improve(plan.cost * COST_SCALE)
    progress.flush()
    return plan


def solve(
    problem: Problem,
    *,
    engine: str = "auto",
    time_limit: float,
    on_improve: OnImprove | None = None,
    cancel: Cancel | None = None,
    seed: int = 0,
    matrix: MatrixProvider | Matrices | None = None,
    max_iterations: int | None = None,
) -> Plan:
    """Plan routes for ``problem`` within ``time_limit`` seconds.

    ``on_improve(best_cost, elapsed_s)`` is called (throttled) as the best cost
    falls; ``cancel`` (an Event or a callable) stops the search early and the
    best plan so far is returned.  ``matrix`` is a provider (default: haversine
    for lat/lon, Euclidean for plane problems) or precomputed :class:`Matrices`.
    ``max_iterations`` caps the search so that, with a fixed ``seed``, the plan
    is the same on every run regardless of machine speed.  Malformed input
    raises :class:`ProblemError`; infeasible orders come back unassigned.
    """
    started = time.monotonic()
    validate(problem, time_limit=time_limit)
    if engine not in ENGINES:
        raise ProblemError("engine", f"must be one of {ENGINES}, got {engine!r}")
    if max_iterations is not None and (
        isinstance(max_iterations, bool)
        or not isinstance(max_iterations, int)
        or max_iterations <= 0
    ):
        raise ProblemError("max_iterations", f"must be a positive int, got {max_iterations!r}")
    c = compile_problem(problem, matrix)
    progress = Progress(on_improve=on_improve, cancel=cancel, cost_scale=COST_SCALE)
    plan = solve_compiled(
        c,
        engine=engine,
        time_limit=time_limit,
        progress=progress,
        seed=seed,
        max_iterations=max_iterations,
        started=started,
    )
    return replace(plan, solve_time=time.monotonic() - started)
