"""Side-by-side timing: convlens and its anchors in one run, medians, ratios.

A benchmark module ``benchmarks/bench_<topic>.py`` defines ``cases(quick: bool)``
returning a list of :class:`Case`.  Each case times its callables (one warm-up
call, then the median of repeated calls, all callables of a case timed in
interleaved rounds) and prints, for each comparison,
``ratio = t_anchor / t_convlens`` (> 1: convlens is faster) next to the goal.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Compare:
    """One ratio to report: anchor label / convlens label, with the goal (minimum ratio).

    ``anchor`` may be a tuple of labels: the fastest of them is the anchor.
    """

    anchor: str | tuple[str, ...]
    ours: str
    goal: float | None = None
    note: str = ""
    above_s: float | None = None  # the goal applies only where a call (ours or the anchor's) takes longer


@dataclass
class Case:
    """A workload: named callables (convlens variants and anchors) and the ratios to print."""

    workload: str
    ours: dict[str, Callable[[], object]]
    anchors: dict[str, Callable[[], object]]
    compare: list[Compare]
    threads: dict[str, int] = field(default_factory=dict)  # label -> threads used
    check: Callable[[dict[str, object]], str] | None = None  # gets warm-up outputs, returns a note
    repeats: int = 7
    budget_s: float = 4.0  # stop repeating a callable after this much time (at least 3 runs)
    warmup: int = 1  # untimed calls first (plans reach their steady state after a few calls)
    calls: int = 1  # calls each callable makes per sample (a batch of tiny calls)


@contextlib.contextmanager
def threads(n: int):
    """Limit BLAS/OpenMP pools, OpenCV and torch to ``n`` threads for the block."""
    stack = contextlib.ExitStack()
    try:
        from threadpoolctl import threadpool_limits

        stack.enter_context(threadpool_limits(n))
    except ImportError:  # pragma: no cover
        pass
    try:
        import cv2

        old_cv = cv2.getNumThreads()
        cv2.setNumThreads(n)
        stack.callback(cv2.setNumThreads, old_cv)
    except ImportError:  # pragma: no cover
        pass
    import sys

    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        old_t = torch.get_num_threads()
        torch.set_num_threads(n)
        stack.callback(torch.set_num_threads, old_t)
    with stack:
        yield


def peak_memory(fn: Callable[[], object]) -> float:
    """Bytes by which ``fn()`` raises this process' peak resident memory above what it holds before.

    Linux only (``/proc/self/clear_refs`` resets the peak, ``VmHWM``); counts memory that
    C/C++ libraries allocate too (ducc0, OpenCV), which ``tracemalloc`` would miss.
    Returns NaN where unavailable.
    """

    def status(key: str) -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
        raise OSError(key)

    try:
        gc.collect()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        base = status("VmRSS:")
        out = fn()
        peak = status("VmHWM:")
        del out
    except OSError:  # pragma: no cover - not Linux
        return float("nan")
    return float(peak - base)


def interleaved_times(
    fns: dict[str, Callable[[], object]],
    thread_counts: dict[str, int],
    repeats: int,
    budget_s: float,
    warmup: int = 1,
    settle: int = 1,
) -> tuple[dict[str, float], dict[str, int], dict[str, object]]:
    """(median seconds, runs, warm-up output) per label, the callables timed in interleaved rounds.

    Each round times every callable once, starting one label further along each round, so a
    slow spell of a shared machine (another tenant, a frequency change) falls on all of them
    alike instead of on whichever ran during it: the ratios are of paired conditions.  Right
    before its timed call each callable is called ``settle`` times untimed, so that a sample is
    its steady state, as in a run of repeated calls (measured: ``fftconvolve`` on 4096² ⊛ 31²
    took 0.6 s a call repeated, 2.3 s right after other callables had allocated, its ~300 MB of
    temporaries then faulting in afresh).  Rounds stop after ``repeats``, or (after three) once
    they have taken ``budget_s`` per callable.
    """
    labels = list(fns)
    outputs = {}
    for label in labels:
        with threads(thread_counts.get(label, 1)):
            outputs[label] = fns[label]()
            for _ in range(warmup - 1):
                fns[label]()
    samples: dict[str, list[float]] = {label: [] for label in labels}
    start = time.perf_counter()
    for i in range(repeats):
        turn = i % len(labels)
        for label in labels[turn:] + labels[:turn]:
            with threads(thread_counts.get(label, 1)):
                gc.collect()
                for _ in range(settle):
                    fns[label]()
                t0 = time.perf_counter()
                fns[label]()
                samples[label].append(time.perf_counter() - t0)
        if i >= 2 and time.perf_counter() - start > budget_s * len(labels):
            break
    times = {label: statistics.median(v) for label, v in samples.items()}
    return times, {label: len(v) for label, v in samples.items()}, outputs


def run_case(case: Case) -> dict:
    """Time every callable of a case (interleaved rounds); return rows and ratios."""
    times, runs, outputs = interleaved_times(
        {**case.ours, **case.anchors}, case.threads, case.repeats, case.budget_s, case.warmup
    )
    note = case.check(outputs) if case.check else ""
    ratios = []
    for c in case.compare:
        if isinstance(c.anchor, tuple):
            fastest = min(c.anchor, key=times.__getitem__)
            label = f"best of {'/'.join(c.anchor)} ({fastest})"
            times[label] = times[fastest]
        else:
            label = fastest = c.anchor
        r = times[label] / times[c.ours]
        per_call = max(times[label], times[c.ours]) / case.calls
        applies = c.goal is not None and (c.above_s is None or per_call > c.above_s)
        ratios.append(
            {
                "anchor": label,
                "anchor_threads": case.threads.get(fastest, 1),
                "ours": c.ours,
                "ratio": r,
                "goal": c.goal,
                "above_s": c.above_s,
                "met": (r >= c.goal) if applies else None,
                "applies": applies,
                "note": c.note,
            }
        )
    return {
        "workload": case.workload,
        "times": times,
        "runs": runs,
        "threads": case.threads,
        "ratios": ratios,
        "check": note,
    }
