"""A domain written outside the package runs through the whole simulator."""
from __future__ import annotations

import simulator
from conftest import ROOT


def test_plugin_domain_from_the_working_folder(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    run = simulator.run(ROOT / "examples" / "churn_price_rise.yaml", days=60)
    levels = run.summary["levels"]
    assert levels["0"]["model"]["metric"] == "auc"
    assert 0.6 < levels["0"]["model"]["pre_drift"] <= 1.0
    truth = run.drifts.iloc[0]
    assert truth["shape"] == "incremental" and truth["distributions"] == ["concept", "covariate"]
    assert truth["features"] == ["price"]
    assert levels["0"]["cost"]["model_errors"] > 0
