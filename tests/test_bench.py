"""The benchmark report: every scenario's rate is set against /health's at the same concurrency."""

import math

from bench import run


def row(scenario: str, concurrency: int, req_per_s: float) -> dict[str, object]:
    return {"scenario": scenario, "concurrency": concurrency, "req_per_s": req_per_s}


def test_ratios_are_to_health_at_the_same_concurrency():
    rows = [row("health", 1, 500.0), row("health", 16, 2000.0), row("consent PUT", 1, 100.0)]
    rows.append(row("consent PUT", 16, 400.0))
    run.add_ratios(rows)
    assert [r["ratio_to_health"] for r in rows] == [1.0, 1.0, 0.2, 0.2]


def test_a_concurrency_without_health_has_no_ratio():
    rows = [row("health", 16, 2000.0), row("consent PUT", 1, 100.0)]
    run.add_ratios(rows)
    assert math.isnan(rows[1]["ratio_to_health"])


def test_health_always_runs_as_the_reference():
    health, put = run.SCENARIOS[0], run.SCENARIOS[2]
    assert run.selected(health, ["consent PUT"]) and run.selected(put, ["consent PUT"])
    assert not run.selected(put, ["login"]) and run.selected(put, None)
