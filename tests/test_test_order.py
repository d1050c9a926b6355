"""The order bin/test runs tests in (tests/conftest.py): the long Molecule scenarios spread over
the workers' first shares, so no worker gets two of the longest one after the other."""

from __future__ import annotations

from conftest import ROOT, SCENARIO_MINUTES, plan_lanes, worksteal_shares


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


def test_under_worksteal_the_three_longest_start_at_once_on_three_workers(tmp_path):
    """A stand-in suite (bin/test's scenario ids, quick tests, and `serial` ones that -m takes
    out) under `-n 3 --dist worksteal`: the first scenario each worker runs is one of the three
    longest (planned before -m took tests out, the shares were off and two of them waited)."""
    import subprocess
    import sys

    (tmp_path / "conftest.py").write_text(f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("devstack_conftest", {str(ROOT / "tests" / "conftest.py")!r})
real = importlib.util.module_from_spec(spec)
sys.modules["devstack_conftest"] = real
spec.loader.exec_module(real)
pytest_collection_modifyitems = real.pytest_collection_modifyitems
def pytest_configure(config):
    config.addinivalue_line("markers", "molecule: a scenario")
    config.addinivalue_line("markers", "serial: run apart")
""")
    (tmp_path / "test_standin.py").write_text("""
import time, pytest
from devstack_conftest import SCENARIO_MINUTES
@pytest.mark.serial
@pytest.mark.parametrize("i", range(9))
def test_apart(i):
    pass
@pytest.mark.parametrize("i", range(30))
def test_quick(i):
    time.sleep(0.01)
@pytest.mark.molecule
@pytest.mark.parametrize("s", list(SCENARIO_MINUTES), ids=list(SCENARIO_MINUTES))
def test_scenario(s):
    time.sleep(SCENARIO_MINUTES[s] / 20)
""")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "3", "--dist", "worksteal",
                           "-m", "not serial", "-v", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    longest = sorted(SCENARIO_MINUTES, key=SCENARIO_MINUTES.get, reverse=True)[:3]
    # None of the three longest waited behind another scenario on its worker.
    starts = {}
    for line in done.stdout.splitlines():
        if "PASSED" in line and "test_scenario[" in line:
            worker, name = line.split("]")[0], line.split("test_scenario[")[1].rstrip("] ")
            starts.setdefault(worker, name)
    assert set(starts.values()) == set(longest), starts
