"""The fast CSV writer writes what pandas writes, byte for byte."""
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator.output import write_numeric_csv

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
ints = st.integers(min_value=-(2**62), max_value=2**62)


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(min_value=0, max_value=30), st.lists(st.sampled_from("fi"), min_size=1, max_size=6))
def test_numeric_frames_match_pandas(tmp_path_factory, data, n, kinds):
    columns = {}
    for j, kind in enumerate(kinds):
        if kind == "f":
            columns[f"c{j}"] = data.draw(arrays(np.float64, n, elements=floats))
        else:
            columns[f"c{j}"] = np.array(data.draw(st.lists(ints, min_size=n, max_size=n)), dtype=np.int64)
    frame = pd.DataFrame(columns)
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    write_numeric_csv(frame, path)
    assert path.read_bytes() == frame.to_csv(index=False, float_format="%.6g").encode()


def test_text_columns_fall_back_to_pandas(tmp_path):
    frame = pd.DataFrame({"day": [0.5, 1.25], "detail": ["a, quoted \"b\"", "plain"]})
    write_numeric_csv(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == frame.to_csv(index=False, float_format="%.6g").encode()


def test_frames_longer_than_a_block_match_pandas(tmp_path, monkeypatch):
    import simulator.output as output

    monkeypatch.setattr(output, "_CSV_BLOCK", 7)  # rows are written a block at a time: cross several
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"day": rng.random(50), "level": rng.integers(0, 4, 50),
                          "cost": np.where(rng.random(50) < 0.2, np.nan, rng.normal(size=50) * 1e9)})
    write_numeric_csv(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == frame.to_csv(index=False, float_format="%.6g").encode()
