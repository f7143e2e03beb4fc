"""Benchmark the routing engine on Solomon / Gehring & Homberger VRPTW instances.

Prints figures, asserts nothing.  Cost is total Euclidean distance (float),
recomputed by the independent checker in ``bench/vrp_checker.py``; gaps are
against ``distance_only`` in the instance directory's ``bks.json``.

    python bench/solver.py --instances /work/shared/bench/vrptw
        [--engines auto,ortools,pyvrp,vroom] [--time-limits 1,5,30]
        [--csv FILE] [--solutions DIR]
    python bench/solver.py --large [FILE] [--large-limit 55]   # 1,000 orders, wall <= 60 s
    python bench/solver.py --insert-trials 50                  # live insertion latency
    python bench/solver.py --instances DIR --ortools-tuning 5  # OR-Tools strategies

``auto`` uses two cores (OR-Tools in a child process, PyVRP here) from 2 s up
when a core is idle by the load average, else PyVRP alone; every other engine
one core.  VROOM runs with exploration level 5, one thread and the time limit
as its timeout.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ortools.constraint_solver.pywrapcp  # noqa: E402,F401  (before anything else heavy)
from vrp_checker import check_routes  # noqa: E402
from vrp_instances import Instance, generate_gh, read_bks, read_instance, to_problem  # noqa: E402

from backend.solver import EuclideanProvider, solve  # noqa: E402

ENGINES = ("auto", "ortools", "pyvrp", "vroom")


def run_solver(inst: Instance, engine: str, limit: float, seed: int = 0) -> list[list[int]]:
    plan = solve(
        to_problem(inst),
        engine=engine,
        time_limit=limit,
        seed=seed,
        matrix=EuclideanProvider(scale=1000),
    )
    return [[int(s.order_id) for s in r.stops] for r in plan.routes if r.stops]


def run_vroom(inst: Instance, limit: float) -> list[list[int]]:
    import vroom

    scale = 1000
    xy = np.array([(r[1], r[2]) for r in inst.rows], dtype=float)
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    # Durations rounded up so integer-feasible is float-feasible, as in the solver.
    durations = np.ceil(d * scale - 1e-6).astype(np.uint32)
    costs = np.rint(d * scale).astype(np.uint32)
    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=durations)
    problem.set_costs_matrix(profile="car", matrix_input=costs)
    depot = inst.depot
    for k in range(inst.vehicles):
        problem.add_vehicle(
            vroom.Vehicle(
                id=k + 1,
                start=0,
                end=0,
                capacity=[inst.capacity],
                time_window=vroom.TimeWindow(int(depot[4] * scale), int(depot[5] * scale)),
            )
        )
    for idx, r in enumerate(inst.rows):
        if idx == 0:
            continue
        problem.add_job(
            vroom.Job(
                id=int(r[0]),
                location=idx,
                delivery=[int(r[3])],
                default_service=int(r[6] * scale),
                time_windows=[vroom.TimeWindow(int(r[4] * scale), int(r[5] * scale))],
            )
        )
    sol = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=limit))
    df = sol.routes
    routes: dict[int, list[int]] = {}
    for _, row in df.iterrows():
        if row["type"] == "job":
            routes.setdefault(int(row["vehicle_id"]), []).append(int(row["id"]))
    return list(routes.values())


def benchmark(args: argparse.Namespace) -> None:
    directory = Path(args.instances)
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in (".txt", ".vrp"))
    bks = read_bks(directory)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    limits = [float(x) for x in args.time_limits.split(",")]
    rows: list[dict[str, object]] = []
    writer = None
    csv_file = None
    if args.csv:
        csv_file = open(args.csv, "w", newline="")  # noqa: SIM115 - closed below
        writer = csv.DictWriter(
            csv_file,
            fieldnames=[
                "instance",
                "engine",
                "time_limit_s",
                "cost",
                "bks",
                "gap_pct",
                "vehicles",
                "wall_s",
                "feasible",
            ],
        )
        writer.writeheader()
    if args.solutions:
        Path(args.solutions).mkdir(parents=True, exist_ok=True)
    print(
        f"{'instance':10} {'engine':8} {'limit':>5} {'cost':>10} {'bks':>9} {'gap%':>7} "
        f"{'veh':>4} {'wall_s':>7} {'feas':>5} {'/vroom':>7}",
        flush=True,
    )
    for limit in limits:
        for path in files:
            inst = read_instance(path)
            name = path.stem
            vroom_cost = None
            ordered = sorted(engines, key=lambda e: e != "vroom")  # vroom first, for the ratio
            for engine in ordered:
                t0 = time.monotonic()
                if engine == "vroom":
                    routes = run_vroom(inst, limit)
                else:
                    routes = run_solver(inst, engine, limit)
                wall = time.monotonic() - t0
                chk = check_routes(inst, routes)
                best = bks.get(name)
                gap = None if best is None else 100.0 * (chk.cost - best) / best
                if engine == "vroom":
                    vroom_cost = chk.cost
                ratio = None if vroom_cost is None else chk.cost / vroom_cost
                row = {
                    "instance": name,
                    "engine": engine,
                    "time_limit_s": limit,
                    "cost": round(chk.cost, 3),
                    "bks": best,
                    "gap_pct": None if gap is None else round(gap, 3),
                    "vehicles": chk.vehicles,
                    "wall_s": round(wall, 2),
                    "feasible": chk.feasible,
                }
                rows.append({**row, "ratio": ratio})
                if writer is not None:
                    writer.writerow(row)
                    assert csv_file is not None
                    csv_file.flush()
                if args.solutions:
                    out = Path(args.solutions) / f"{name}__{engine}__{limit:g}.json"
                    out.write_text(json.dumps({"routes": routes}))
                print(
                    f"{name:10} {engine:8} {limit:5g} {chk.cost:10.2f} "
                    f"{best if best is not None else '-':>9} "
                    f"{'-' if gap is None else f'{gap:7.2f}':>7} {chk.vehicles:4d} "
                    f"{wall:7.2f} {str(chk.feasible):>5} "
                    f"{'-' if ratio is None else f'{ratio:7.4f}':>7}",
                    flush=True,
                )
                if not chk.feasible:
                    print("   infeasible:", "; ".join(chk.errors[:3]), flush=True)
    if csv_file is not None:
        csv_file.close()
    print("\nmean per engine and budget (gap vs distance_only BKS; ratio = cost / VROOM cost)")
    print(
        f"{'engine':8} {'limit':>5} {'gap%':>7} {'ratio':>7} {'veh':>6} {'wall_s':>7} "
        f"{'feasible':>9}"
    )
    for limit in limits:
        for engine in engines:
            sel = [r for r in rows if r["engine"] == engine and r["time_limit_s"] == limit]
            if not sel:
                continue
            gaps = [float(r["gap_pct"]) for r in sel if r["gap_pct"] is not None]  # type: ignore[arg-type]
            ratios = [float(r["ratio"]) for r in sel if r["ratio"] is not None]  # type: ignore[arg-type]
            gap_txt = f"{statistics.mean(gaps):7.2f}" if gaps else "      -"
            ratio_txt = f"{statistics.mean(ratios):7.4f}" if ratios else "      -"
            veh = statistics.mean(float(r["vehicles"]) for r in sel)  # type: ignore[arg-type]
            wall = statistics.mean(float(r["wall_s"]) for r in sel)  # type: ignore[arg-type]
            feas = sum(1 for r in sel if r["feasible"])
            print(
                f"{engine:8} {limit:5g} {gap_txt} {ratio_txt} {veh:6.1f} {wall:7.2f} "
                f"{feas:>4}/{len(sel)}"
            )


def ortools_tuning(args: argparse.Namespace) -> None:
    """Try OR-Tools first-solution strategies and metaheuristics; print mean gaps."""
    from backend.solver.compile import compile_problem
    from backend.solver.ortools_engine import solve_ortools
    from backend.solver.progress import Progress
    from backend.solver.solve import serviceable_orders

    directory = Path(args.instances)
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() == ".txt")
    bks = read_bks(directory)
    limit = float(args.ortools_tuning)
    configs = [c.split(":", 2) for c in args.tuning_configs.split(",")]
    for first, meta, *rest in configs:
        overrides: dict[str, object] = {}
        for item in rest[0].split(";") if rest else []:
            key, _, raw = item.partition("=")
            if raw in ("true", "false"):
                overrides[key] = raw == "true"
            elif "|" in raw or raw.isalpha():
                overrides[key] = [x for x in raw.split("|") if x]
            else:
                overrides[key] = float(raw) if "." in raw else int(raw)
        gaps = []
        feasible = 0
        for path in files:
            inst = read_instance(path)
            c = compile_problem(to_problem(inst), EuclideanProvider(scale=1000))
            res = solve_ortools(
                c,
                serviceable_orders(c),
                time_limit=limit,
                progress=Progress(),
                first_solution=first,
                metaheuristic=meta,
                overrides=overrides,
            )
            routes = [[int(c.problem.orders[i].id) for i in r] for r in res.routes if r]
            chk = check_routes(inst, routes)
            feasible += chk.feasible
            if chk.feasible and path.stem in bks:
                gaps.append(100 * (chk.cost - bks[path.stem]) / bks[path.stem])
            print(
                f"  {first}:{meta}:{rest} {path.stem} cost={chk.cost:.2f} feasible={chk.feasible}",
                flush=True,
            )
        mean = statistics.mean(gaps) if gaps else float("nan")
        print(
            f"{first}:{meta}:{rest[0] if rest else ''} limit={limit:g}s "
            f"mean gap {mean:.2f}% over feasible, feasible {feasible}/{len(files)}",
            flush=True,
        )


def large(args: argparse.Namespace) -> None:
    """Solve a 1,000-order G&H-format instance (generated with a seed if none given)."""
    if args.large and args.large != "generate":
        path = Path(args.large)
        source = f"file {path}"
    else:
        path = Path("/tmp/solver_gh1000_seed1.txt")
        generate_gh(path, customers=1000, seed=1)
        source = "generated (seed 1, G&H format, R1-like) at " + str(path)
    inst = read_instance(path)
    print(
        f"1,000-order run: {source}; {len(inst.customers)} customers, "
        f"{inst.vehicles} vehicles of capacity {inst.capacity}"
    )
    for engine in [e.strip() for e in args.engines.split(",") if e.strip() != "vroom"]:
        t0 = time.monotonic()
        routes = run_solver(inst, engine, args.large_limit)
        wall = time.monotonic() - t0
        chk = check_routes(inst, routes)
        print(
            f"  {engine:8} limit={args.large_limit:g}s wall={wall:.1f}s "
            f"(<= 60 s: {wall <= 60}) cost={chk.cost:.1f} "
            f"vehicles={chk.vehicles} feasible={chk.feasible} "
            f"{'; '.join(chk.errors[:3])}",
            flush=True,
        )


def insertion(args: argparse.Namespace) -> None:
    """Time inserting one new order into a live 100-stop plan, over N trials."""
    from solver_live import insertion_trials

    insertion_trials(args.insert_trials)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--instances", default=None)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--time-limits", default="1,5,30")
    ap.add_argument("--csv", default=None)
    ap.add_argument("--solutions", default=None)
    ap.add_argument(
        "--large",
        nargs="?",
        const="generate",
        default=None,
        help="solve a 1,000-order instance (FILE, or generated with seed 1)",
    )
    ap.add_argument(
        "--large-limit",
        type=float,
        default=55.0,
        help="solver budget; model building adds a few seconds of wall time",
    )
    ap.add_argument("--insert-trials", type=int, default=0)
    ap.add_argument("--ortools-tuning", default=None, help="time limit for the tuning mode")
    ap.add_argument(
        "--tuning-configs",
        default=(
            "PARALLEL_CHEAPEST_INSERTION:GUIDED_LOCAL_SEARCH,"
            "PATH_CHEAPEST_ARC:GUIDED_LOCAL_SEARCH,"
            "LOCAL_CHEAPEST_INSERTION:GUIDED_LOCAL_SEARCH,"
            "SAVINGS:GUIDED_LOCAL_SEARCH,"
            "PARALLEL_CHEAPEST_INSERTION:SIMULATED_ANNEALING,"
            "PARALLEL_CHEAPEST_INSERTION:TABU_SEARCH"
        ),
    )
    args = ap.parse_args()
    did = False
    if args.ortools_tuning:
        ortools_tuning(args)
        did = True
    elif args.instances:
        benchmark(args)
        did = True
    if args.large:
        large(args)
        did = True
    if args.insert_trials:
        insertion(args)
        did = True
    if not did:
        ap.error("give --instances, --large or --insert-trials")


if __name__ == "__main__":
    main()
