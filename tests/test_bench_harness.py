"""The benchmark harness times its callables in interleaved rounds (paired conditions).

The harness' clock is replaced by a fake one that each callable advances by a fixed
duration, so these tests check the bookkeeping (order of calls, rounds, budget, ratios)
and never depend on the machine's speed.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from benchmarks import _harness
from benchmarks._harness import Case, Compare, interleaved_times, run_case


@pytest.fixture
def clock(monkeypatch):
    """A fake ``time`` for the harness: ``clock.spend(s)`` is a callable that takes ``s`` seconds."""
    now = [0.0]
    calls: list[str] = []

    def spend(label: str, seconds: float):
        def fn():
            calls.append(label)
            now[0] += seconds
            return label

        return fn

    monkeypatch.setattr(_harness, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    return SimpleNamespace(spend=spend, calls=calls)


def test_interleaved_rounds_time_every_callable_alike(clock):
    fns = {"fast": clock.spend("fast", 0.001), "slow": clock.spend("slow", 0.004)}
    times, runs, outputs = interleaved_times(fns, {}, repeats=6, budget_s=10.0, warmup=2)
    assert outputs == {"fast": "fast", "slow": "slow"}
    assert runs == {"fast": 6, "slow": 6}
    assert clock.calls[:4] == ["fast", "fast", "slow", "slow"]  # warm-ups first
    rounds = clock.calls[4:]  # each timed call right after one untimed call of the same callable
    assert rounds[:4] == ["fast", "fast", "slow", "slow"]
    assert rounds[4:8] == ["slow", "slow", "fast", "fast"]  # each round starts one further along
    assert len(rounds) == 6 * 2 * 2
    assert times == {"fast": pytest.approx(0.001), "slow": pytest.approx(0.004)}


def test_rounds_stop_at_the_budget_and_ratios_compare_the_fastest_anchor(clock):
    case = Case(
        "toy",
        ours={"ours": clock.spend("ours", 0.002)},
        anchors={"a": clock.spend("a", 0.01), "b": clock.spend("b", 0.006)},
        compare=[Compare(("a", "b"), "ours", 1.5)],
        repeats=100,
        budget_s=0.02,
    )
    res = run_case(case)
    # a round takes 2 * (0.002 + 0.01 + 0.006) s = 0.036 s, over the budget of 3 * 0.02 s from the second round
    # on; at least three rounds are always made
    assert res["runs"] == {"ours": 3, "a": 3, "b": 3}
    (ratio,) = res["ratios"]
    assert ratio["anchor"] == "best of a/b (b)"
    assert ratio["ratio"] == pytest.approx(3.0)
    assert ratio["met"] is True and ratio["applies"] is True


def test_a_goal_above_a_time_a_call_does_not_apply_below_it(clock):
    case = Case(
        "toy",
        ours={"ours": clock.spend("ours", 0.004)},  # a batch of 8 calls of 0.5 ms
        anchors={"peer": clock.spend("peer", 0.004)},
        compare=[Compare("peer", "ours", 1.5, above_s=1e-3)],
        repeats=3,
        calls=8,
    )
    (ratio,) = run_case(case)["ratios"]
    assert ratio["applies"] is False and ratio["met"] is None  # 0.5 ms a call: printed n/a
    case.calls = 2  # 2 ms a call: the goal applies, and is missed at parity
    (ratio,) = run_case(case)["ratios"]
    assert ratio["applies"] is True and ratio["met"] is False
