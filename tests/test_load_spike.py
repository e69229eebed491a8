"""load_spike, as shipped, against the seed's story: 100 req/s tested, 500 req/s fell over, about $50k."""
from __future__ import annotations

import pytest

import simulator
from conftest import ROOT

SPIKE_START, SPIKE_END = 7.5, 7.75  # days: the six hours at 500 req/s


@pytest.fixture(scope="module")
def run():
    return simulator.run(ROOT / "scenarios" / "load_spike.yaml")


def availability_during_spike(run, level):
    ts = run.timeseries
    rows = ts[(ts.level == level) & (ts.day >= SPIKE_START) & (ts.day < SPIKE_END)]
    return 1 - rows.failed_requests.sum() / rows.requests.sum()


def test_level_0_falls_over_during_the_spike(run):
    assert availability_during_spike(run, 0) < 0.99


def test_level_0_outage_cost_is_of_the_order_the_seed_names(run):
    # "about $50k in downtime and lost customers": the same order of magnitude.
    assert 50_000 / 3 <= run.summary["levels"]["0"]["cost"]["outage"] <= 50_000 * 3


def test_level_3_holds_three_nines_over_the_run(run):
    assert run.summary["levels"]["3"]["availability"] >= 0.999
    assert availability_during_spike(run, 3) >= 0.999


def test_faster_incident_response_shortens_the_outage(run):
    downtime = [run.summary["levels"][str(n)]["downtime_minutes"] for n in range(4)]
    assert downtime[0] > downtime[1] >= downtime[3]
    ev = run.events
    scale_outs = ev[(ev.level == 1) & (ev.kind == "scale")]
    assert scale_outs.detail.str.contains("manual scale-out").any()
