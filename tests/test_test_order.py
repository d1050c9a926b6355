"""The order bin/test runs tests in (tests/conftest.py): the long Molecule scenarios spread over
the workers' first shares, so no worker gets two of the longest one after the other."""

from __future__ import annotations

from conftest import SCENARIO_MINUTES, plan_lanes, worksteal_shares


def test_shares_are_what_worksteal_gives_each_worker_first():
    assert worksteal_shares(185, 3) == [61, 62, 62]
    assert worksteal_shares(7, 3) == [2, 2, 3]
    assert sum(worksteal_shares(202, 3)) == 202


def test_the_longest_scenarios_start_on_different_workers_and_the_plan_is_balanced():
    weights = sorted(SCENARIO_MINUTES.values(), reverse=True)
    lanes = plan_lanes(weights, [61, 62, 62])
    assert [lane[0] for lane in lanes] == [0, 1, 2]           # the three longest, one a worker
    assert lanes[0] == [0]                                   # nothing waits behind the longest
    loads = [sum(weights[i] for i in lane) for lane in lanes]
    assert max(loads[1:]) - min(loads[1:]) <= weights[1]     # the others share the rest evenly
    assert sorted(i for lane in lanes for i in lane) == list(range(len(weights)))
