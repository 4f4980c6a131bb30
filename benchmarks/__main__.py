"""Run every ``benchmarks/bench_*.py`` and print the side-by-side table.

Usage: ``python -m benchmarks [--quick] [--only engine,matching] [--grid full|quick|off] [--out FILE.md]``.
``--only engine --grid quick`` runs the engine workloads and a few cells of its size grid.
Ratios are ``t_anchor / t_convlens`` (> 1: convlens is faster), medians of
repeated runs, convlens and anchors timed in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._harness import run_case

HERE = Path(__file__).resolve().parent


def _fmt_ms(t: float) -> str:
    ms = t * 1e3
    return f"{ms:,.1f}" if ms < 100 else f"{ms:,.0f}"


def _run_child(args: argparse.Namespace) -> int:
    """Time the cases of one module (``--only``) and write their results as JSON."""
    name = f"bench_{args.only.strip().removeprefix('bench_')}"
    os.environ["CONVLENS_BENCH_GRID"] = args.grid  # read by bench_engine's size grid
    mod = importlib.import_module(f"benchmarks.{name}")
    results = []
    for case in mod.cases(args.quick):
        print(f"... {case.workload}", file=sys.stderr, flush=True)
        results.append(run_case(case))
    Path(args.child).write_text(json.dumps(results, default=str))
    return 0


def _grid_summary(results: list[dict]) -> list[str]:
    """One line per comparison of the engine's size grid: cells meeting the goal, of those it applies to."""
    tally: dict[str, list[int]] = {}
    for res in results:
        if not res["workload"].startswith("grid "):
            continue
        for r in res["ratios"]:
            t = tally.setdefault(r["ours"], [0, 0, 0])
            if r["applies"]:
                t[0] += bool(r["met"])
                t[1] += 1
            else:
                t[2] += 1
    out = []
    for ours, (met, of, exempt) in tally.items():
        extra = f" ({exempt} more cells under 1 ms a call, where the goal does not apply)" if exempt else ""
        out.append(f"Grid summary, convlens {ours}: goal met in {met} of {of} cells{extra}.")
    return ["", *out] if out else []


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test, ratios not comparable")
    p.add_argument("--only", default="", help="comma-separated benchmark modules (e.g. engine,matching)")
    p.add_argument(
        "--grid",
        choices=("full", "quick", "off"),
        default="full",
        help="engine size grid of 1-D and 2-D cells against the best peer: full, quick (a few cells), or off",
    )
    p.add_argument("--out", default=str(HERE / "results" / "latest.md"), help="markdown table written here")
    p.add_argument("--child", default="", help=argparse.SUPPRESS)  # internal: run one module, write JSON here
    args = p.parse_args(argv)
    if args.child:
        return _run_child(args)
    names = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))
    if args.only:
        wanted = {f"bench_{n.strip().removeprefix('bench_')}" for n in args.only.split(",")}
        names = [n for n in names if n in wanted]
    lines = [
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}; Python {platform.python_version()}; "
        f"{'quick' if args.quick else 'full'} sizes; {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "| workload | convlens | anchor | threads (ours/anchor) | convlens ms | anchor ms | ratio | goal | met |",
        "|---|---|---|---|---:|---:|---:|---:|---|",
    ]
    results = []
    for name in names:
        # Each module runs in a fresh interpreter: memory held by one workload, or thread pools
        # left by OpenCV/torch/OpenMP, must not slow down the next (measured: they did).
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            cmd = [sys.executable, "-m", "benchmarks", "--only", name, "--child", tmp.name]
            if args.quick:
                cmd.append("--quick")
            cmd += ["--grid", args.grid]
            subprocess.run(cmd, check=True, cwd=HERE.parent)
            module_results = json.loads(Path(tmp.name).read_text())
        for res in module_results:
            results.append(res)
            for r in res["ratios"]:
                th = f"{res['threads'].get(r['ours'], 1)}/{r['anchor_threads']}"
                goal = "" if r["goal"] is None else f"≥ {r['goal']:g}"
                if r["goal"] is not None and r["above_s"] is not None:
                    goal += f" above {r['above_s'] * 1e3:g} ms"
                if r["goal"] is not None and not r["applies"]:
                    met = f"n/a (< {r['above_s'] * 1e3:g} ms a call)"
                else:
                    met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
                lines.append(
                    f"| {res['workload']} | {r['ours']} | {r['anchor']} | {th} | {_fmt_ms(res['times'][r['ours']])} | "
                    f"{_fmt_ms(res['times'][r['anchor']])} | {r['ratio']:.2f} | {goal} | {met} |"
                )
            if res["check"]:
                lines.append(f"| {res['workload']} | check: {res['check']} | | | | | | | |")
            print("\n".join(lines[-len(res["ratios"]) - (1 if res["check"] else 0) :]), flush=True)
    lines += _grid_summary(results)
    text = "\n".join(lines)
    print("\n" + text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    out.with_suffix(".json").write_text(json.dumps(results, indent=1, default=str))
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
