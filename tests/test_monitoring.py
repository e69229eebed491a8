"""PSI against its definition."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.monitoring import Reference, psi


def test_psi_of_a_binary_shift_is_its_closed_form():
    # p → q on a 0/1 column: (q−p)ln(q/p) + (p−q)ln((1−q)/(1−p)).
    p, q = 0.3, 0.5
    ref = Reference.from_rows({"x": np.r_[np.ones(3000), np.zeros(7000)]}, ["x"])
    got = ref.psi({"x": np.r_[np.ones(5000), np.zeros(5000)]})["x"]
    assert got == pytest.approx((q - p) * np.log(q / p) + (p - q) * np.log((1 - q) / (1 - p)), rel=1e-9)


def test_psi_is_zero_for_identical_shares_and_grows_with_the_shift():
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0
    rng = np.random.default_rng(0)
    ref = Reference.from_rows({"x": rng.normal(size=50_000)}, ["x"])
    values = [ref.psi({"x": rng.normal(mu, 1, 50_000)})["x"] for mu in (0.0, 0.25, 0.5, 1.0)]
    assert values[0] < 0.01 and values == sorted(values) and values[-1] > 0.2
