"""The benchmark harness times its callables in interleaved rounds (paired conditions)."""

from __future__ import annotations

import time

from benchmarks._harness import Case, Compare, interleaved_times, run_case


def test_interleaved_rounds_time_every_callable_alike():
    calls: list[str] = []

    def make(label, seconds):
        def fn():
            calls.append(label)
            time.sleep(seconds)
            return label

        return fn

    fns = {"fast": make("fast", 0.001), "slow": make("slow", 0.004)}
    times, runs, outputs = interleaved_times(fns, {}, repeats=6, budget_s=10.0, warmup=2)
    assert outputs == {"fast": "fast", "slow": "slow"}
    assert runs == {"fast": 6, "slow": 6}
    assert calls[:4] == ["fast", "fast", "slow", "slow"]  # warm-ups first
    rounds = calls[4:]  # each timed call right after one untimed call of the same callable
    assert rounds[:4] == ["fast", "fast", "slow", "slow"]
    assert rounds[4:8] == ["slow", "slow", "fast", "fast"]  # each round starts one further along
    assert len(rounds) == 6 * 2 * 2
    assert 0.001 <= times["fast"] < times["slow"]


def test_rounds_stop_at_the_budget_and_ratios_compare_the_fastest_anchor():
    case = Case(
        "toy",
        ours={"ours": lambda: time.sleep(0.002)},
        anchors={"a": lambda: time.sleep(0.01), "b": lambda: time.sleep(0.006)},
        compare=[Compare(("a", "b"), "ours", 1.5)],
        repeats=100,
        budget_s=0.02,
    )
    res = run_case(case)
    assert 3 <= res["runs"]["ours"] < 100
    (ratio,) = res["ratios"]
    assert ratio["anchor"] == "best of a/b (b)"
    assert ratio["met"] is True and 1.5 < ratio["ratio"] < 6
