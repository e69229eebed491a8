"""The language domain against closed forms and scikit-learn, and language_shift against its figure.

The generative model is checked against the shares it is built from, the
features against scikit-learn's FeatureHasher, the metrics against
scikit-learn's, and the shipped scenario against the seed text's figure for
NLP models (30% or more lost as language evolves).
"""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction import FeatureHasher
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
from sklearn.preprocessing import normalize

import simulator
from conftest import ROOT
from simulator.domains import language as lang
from simulator.domains.language import LanguageDomain
from simulator.errors import ScenarioError
from simulator.scenario import load_scenario

LANGUAGE = ROOT / "scenarios" / "language_shift.yaml"
#: The language of late 2023 in language_shift: the third wave of slang, flipped words, chat spellings.
LATE_2023 = {"slang_share": 0.7, "slang_wave": 2, "flip_share": 1.0, "spelling_share": 0.25, "length_mean": 9}


def sample(n, rng_seed=1, **params):
    d = LanguageDomain()
    return d.sample(np.zeros(n), {**d.defaults, **params}, np.random.default_rng(rng_seed))


def tokens_of(rows):
    return np.stack([rows[c] for c in lang.TOKEN_COLUMNS], axis=1)


def near(observed, expected, n):
    """Within four standard errors of a share ``expected`` estimated from ``n`` draws."""
    return abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / n) + 1e-12


@pytest.mark.parametrize("params", [{}, {"complaint_rate": 0.1}, {"complaint_rate": 0.45, **LATE_2023}])
def test_complaint_rate_is_the_prior_within_sampling_error(params):
    n = 200_000
    rows = sample(n, **params)
    assert near(rows["label"].mean(), {**LanguageDomain.defaults, **params}["complaint_rate"], n)


@pytest.mark.parametrize("length_mean", [5.0, 8.0, 10.0, 15.0])
def test_lengths_are_binomial_around_their_mean_and_tokens_fill_exactly_the_length(length_mean):
    n = 100_000
    rows = sample(n, length_mean=length_mean)
    length = rows["length"]
    # length = 5 + Binomial(10, (mean - 5) / 10): mean length_mean, variance 10 p (1 - p).
    p = (length_mean - 5) / 10
    sd = np.sqrt(10 * p * (1 - p))
    assert abs(length.mean() - length_mean) <= 4 * sd / np.sqrt(n) + 1e-12
    assert length.min() >= 5 and length.max() <= 15
    tok = tokens_of(rows)
    filled = np.arange(15) < length[:, None]
    assert np.all((tok >= 0) == filled)
    assert tok.max() < len(lang.VOCABULARY)


@pytest.mark.parametrize("slang, spelling", [(0.0, 0.0), (0.4, 0.0), (0.4, 0.25), (0.7, 0.1)])
def test_slang_and_spelling_shares_follow_the_generative_model(slang, spelling):
    """A token carries sentiment with probability 0.3 and is a topic word with 0.35; slang is a share of
    sentiment words, and any content word takes a variant spelling with probability ``spelling``."""
    rows = sample(60_000, slang_share=slang, spelling_share=spelling)
    tok = tokens_of(rows)
    tok = tok[tok >= 0]
    n = len(tok)
    sentiment, content = lang._SENTIMENT_DENSITY, lang._SENTIMENT_DENSITY + 0.7 * lang._TOPIC_TOKEN_SHARE
    in_own_spelling_slang = (tok >= lang.DICTIONARY_SIZE) & (tok < lang.BASE_VOCAB)
    assert near(in_own_spelling_slang.mean(), sentiment * slang * (1 - spelling), n)
    assert near((tok >= lang.BASE_VOCAB).mean(), content * spelling, n)
    # oov_share is a per-message mean of independent tokens: its expectation is the token share.
    expected_oov = sentiment * slang * (1 - spelling) + content * spelling
    assert abs(rows["oov_share"].mean() - expected_oov) < 0.004


def test_a_new_wave_of_slang_replaces_the_last():
    def wave_shares(wave):
        tok = tokens_of(sample(40_000, slang_share=0.6, slang_wave=wave, spelling_share=0.0))
        slang = tok[(tok >= lang.DICTIONARY_SIZE) & (tok < lang.BASE_VOCAB)]
        per_wave = 2 * lang._N_SLANG
        return np.bincount((slang - lang.DICTIONARY_SIZE) // per_wave, minlength=3) / len(slang)

    assert wave_shares(0).tolist() == [1.0, 0.0, 0.0]
    assert wave_shares(1).tolist() == [0.0, 1.0, 0.0]
    half = wave_shares(1.5)
    assert half[0] == 0 and abs(half[1] - 0.5) < 0.02 and abs(half[2] - 0.5) < 0.02


def test_flipped_words_move_from_complaints_to_praise_with_their_share():
    """With no mixed messages, slang or variants, the six words make up their Zipf share
    (rank r weighted 1/(r + 2) among 60 complaint words) of complaints' sentiment words, then of praise's."""
    ranks = np.array([lang._COMPLAINT.index(w) for w in lang.FLIPPING])
    share = np.sum(1 / (ranks + 2.0)) / np.sum(1 / (np.arange(60) + 2.0))
    flipping = [lang._ID[w] for w in lang.FLIPPING]
    for flip in (0.0, 1.0):
        rows = sample(80_000, flip_share=flip, mixed_share=0.0, spelling_share=0.0)
        tok = tokens_of(rows)
        for label in (0, 1):
            t = tok[rows["label"] == label]
            t = t[t >= 0]
            expected = lang._SENTIMENT_DENSITY * share if (label == 1) == (flip == 0.0) else 0.0
            assert near(np.isin(t, flipping).mean(), expected, len(t)), (flip, label)


def test_features_are_scikit_learns_feature_hasher_then_l2_normalised():
    rows = sample(3000, **LATE_2023)
    # As the traffic store keeps them: token ids compacted to int16.
    rows = {k: v.astype(np.int16) if v.dtype.kind in "iub" else v.astype(np.float32) for k, v in rows.items()}
    words = [[lang.VOCABULARY[t] for t in row if t >= 0] for row in tokens_of(rows)]
    hasher = FeatureHasher(n_features=lang.N_BUCKETS, input_type="string", alternate_sign=True)
    expected = normalize(hasher.transform(words), norm="l2").toarray()
    X = LanguageDomain().features(rows)
    assert X.shape == (3000, len(LanguageDomain.feature_names)) and X.dtype == np.float32
    np.testing.assert_allclose(X, expected, atol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_metrics_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(500) < 0.3).astype(int)
    scores = rng.normal(size=500) + 1.5 * y - 0.5
    m = LanguageDomain().metrics(y, scores)
    flagged = scores > 0
    assert m["f1"] == pytest.approx(f1_score(y, flagged), abs=1e-12)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, flagged), abs=1e-12)
    assert m["precision"] == pytest.approx(precision_score(y, flagged), abs=1e-12)
    assert m["recall"] == pytest.approx(recall_score(y, flagged), abs=1e-12)


def test_the_fitted_threshold_maximises_f1_on_the_training_rows():
    d = LanguageDomain()
    rows = sample(8000, slang_share=0.3)
    X, y = d.features(rows), rows["label"]
    scorer = d.fit(X, y, np.ones(len(y)), np.random.default_rng(0))
    s = scorer.score(X)
    best = f1_score(y, s > 0)
    # No other cut between the scores does better.
    for cut in np.quantile(s, np.linspace(0.01, 0.99, 99)):
        assert f1_score(y, s > cut) <= best + 1e-12
    assert np.array_equal(d.decide(s, scorer.threshold), s > 0)


def test_a_2021_model_loses_30_percent_of_f1_on_late_2023_language_and_a_retrained_one_recovers():
    d = LanguageDomain()
    rng = np.random.default_rng(5)

    def data(n, seed, **params):
        rows = sample(n, seed, **params)
        return d.features(rows), rows["label"]

    X0, y0 = data(10_000, 11)
    old = d.fit(X0, y0, np.ones(len(y0)), rng)
    X1, y1 = data(10_000, 12, **LATE_2023)
    new = d.fit(X1, y1, np.ones(len(y1)), rng)
    Xa, ya = data(30_000, 13)
    Xb, yb = data(30_000, 14, **LATE_2023)
    before = d.metrics(ya, old.score(Xa))["f1"]
    after = d.metrics(yb, old.score(Xb))["f1"]
    retrained = d.metrics(yb, new.score(Xb))["f1"]
    assert before > 0.8
    assert 1 - after / before >= 0.30
    # The new words are as telling as the old: retraining wins back at least two-thirds of the loss.
    assert retrained - after >= (2 / 3) * (before - after)


def test_costs_price_missed_complaints_and_needless_escalations():
    rows = {"label": np.array([1, 1, 0, 0])}
    flagged = np.array([True, False, True, False])
    d = LanguageDomain()
    assert d.error_costs(rows, flagged, {"false_positive": 2.0, "missed_complaint": 12.0}).tolist() == [0, 12, 2, 0]
    # Without the key, a missed complaint costs the domain's default.
    assert d.error_costs(rows, flagged, {"false_positive": 2.0})[1] == d.cost_defaults["missed_complaint"]


def test_the_keyword_fallback_misses_variant_spellings_and_slang():
    def message(*words):
        ids = [lang._ID[w] for w in words] + [-1] * (15 - len(words))
        return {c: np.array([ids[j]]) for j, c in enumerate(lang.TOKEN_COLUMNS)}

    d = LanguageDomain()
    assert d.fallback_flags(message("my", "refund", "still", "waiting"))[0]
    assert not d.fallback_flags(message("my", "refund~1", "still", "waiting"))[0]
    assert not d.fallback_flags(message("this", "app", "is", "mid"))[0]


def test_same_generator_same_messages():
    a, b = sample(5000, 3, **LATE_2023), sample(5000, 3, **LATE_2023)
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("key, value, problem", [("slang_share", 1.5, "fraction"), ("length_mean", 20, "between 5"),
                                                 ("slang_wave", 3, "between 0 and 2"), ("flip_share", -0.1, "fraction")])
def test_bad_parameter_values_name_the_key(key, value, problem):
    with pytest.raises(ScenarioError, match=rf"drift\.0\.set\.{key}.*{problem}"):
        load_scenario(LANGUAGE, drift=[{"at": "10d", "kind": "sudden", "set": {key: value}}])


def test_language_shift_runs_at_level_3_for_a_few_days():
    cmp = simulator.run(LANGUAGE, levels=[3], days=3)
    lv = cmp.summary["levels"]["3"]
    assert lv["model"]["metric"] == "f1" and lv["model"]["mean"] > 0.8
    assert lv["cost"]["model_errors"] > 0


def test_language_shift_level_0_without_retraining_loses_30_percent_of_f1():
    """The seed text's figure: NLP models lose 30% or more as language evolves.

    Level 0 with retraining turned off keeps the model of 2021 for two years;
    its mean daily F1 over the last 30 days (700-729) is compared with the
    first 30 (0-29, before any drift). The scenario's YAML documents the
    calibration over seeds 1-5; two of them keep the test short. Each 30-day
    mean covers 45,000 scored messages; over the five seeds the drops spread
    over about six points (40-46%), well clear of the 30% bound.
    """
    drops = []
    for seed in (1, 2):
        sc = load_scenario(LANGUAGE, overrides={0: {"retraining": {"trigger": "never"}}}, levels=[0], seed=seed)
        daily = simulator.run(sc).daily.set_index("day")["f1"]
        assert daily.index.max() == 729 and set(daily.index) == set(range(730))
        first, last = daily.loc[0:29].mean(), daily.loc[700:729].mean()
        assert first > 0.8
        drops.append(1 - last / first)
    assert np.mean(drops) >= 0.30, drops
