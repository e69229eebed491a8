"""Support-inbox messages whose language drifts, and a hashed bag-of-words complaint classifier.

Each request is a customer's message, 5 to 15 tokens long; the model flags
complaints (``label`` 1) for a priority queue. Messages come from a small
generative model: a label, a topic that depends on it (complaints are mostly
about billing and delivery), then tokens that are filler words, topic words
or sentiment words of the message's polarity (one in ten of the other: "love
the app but the bill is wrong"). Its parameters are how language moves:

- ``slang_share``: the share of sentiment words that are slang, which the
  dictionary of launch time and the first model never saw;
- ``slang_wave``: which of three successive waves of slang is in use; a new
  wave replaces the words of the last (a fraction mixes two waves);
- ``flip_share``: how far six complaint words ("sick", "insane", "crazy",
  ...) have turned into praise;
- ``spelling_share``: the chance that a content word is written in one of two
  variant spellings ("refund~1"), which splits its counts;
- ``length_mean``: the mean length; messages shorten as chat replaces e-mail.

A row holds the token ids in ``tok_0`` .. ``tok_14`` (-1 pads), the
``length``, and ``oov_share``, the share of tokens outside the dictionary,
which drift monitors watch with the length. The model hashes the tokens'
text into 512 signed buckets exactly as scikit-learn's ``FeatureHasher``
does, normalises each row (L2), and fits a logistic regression whose
threshold maximises F1 on the training rows.

>>> import numpy as np
>>> from simulator.domains.language import LanguageDomain, text
>>> d = LanguageDomain()
>>> rows = d.sample(np.zeros(20_000), d.defaults, np.random.default_rng(0))
>>> bool(abs(rows["label"].mean() - 0.3) < 0.01), int(rows["length"].min()), int(rows["length"].max())
(True, 5, 15)
>>> X = d.features(rows)
>>> X.shape, bool(np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5))
((20000, 512), True)
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.utils import murmurhash3_32

from .base import Domain, Rows, Scorer
from .fraud import LinearScorer

MAX_LEN = 15
MIN_LEN = 5
#: The row columns that hold a message's token ids, in order (-1 pads).
TOKEN_COLUMNS = tuple(f"tok_{j}" for j in range(MAX_LEN))
N_BUCKETS = 512           # 2**9 hashed features: a day's matrix is built and scored in milliseconds
TOPICS = ("billing", "delivery", "app", "account", "product")
# Topic of a message given its label: complaints are about money and parcels, praise about the product.
_TOPIC_MIX = {1: np.array([0.35, 0.30, 0.15, 0.15, 0.05]), 0: np.array([0.15, 0.15, 0.25, 0.15, 0.30])}
_TOPIC_TOKEN_SHARE = 0.5  # of the tokens that carry no sentiment, half are topic words, half filler
_SENTIMENT_DENSITY = 0.3  # share of a message's tokens that carry its sentiment
N_VARIANTS = 2            # spellings of a content word besides its own

_FILLER = ("i", "the", "my", "to", "and", "it", "is", "a", "for", "on", "you", "was", "this", "with", "me",
           "of", "in", "have", "not", "but")
_TOPIC_WORDS = {"billing": ("bill", "charge", "invoice", "card", "payment", "subscription"),
                "delivery": ("order", "package", "delivery", "courier", "tracking", "parcel"),
                "app": ("app", "update", "screen", "login", "button", "notification"),
                "account": ("account", "password", "email", "profile", "settings", "verification"),
                "product": ("product", "size", "quality", "colour", "item", "fit")}
_COMPLAINT = ("refund", "broken", "still", "worst", "waiting", "insane", "cancel", "terrible", "charged",
              "sick", "useless", "never", "crazy", "disappointed", "wrong", "wild", "unacceptable", "angry",
              "unreal", "awful", "nuts")
_PRAISE = ("thanks", "love", "great", "awesome", "perfect", "quick", "helpful", "amazing", "easy", "happy",
           "best", "nice", "fast", "smooth")
# Successive waves of slang, each with its own complaint and praise words.
_SLANG = ((("mid", "cooked", "trash", "bruh", "smh", "sus"), ("goated", "fire", "slaps", "bussin", "lit", "based")),
          (("ratio", "flop", "clowns", "ick", "yikes", "fumbled"), ("ate", "slay", "valid", "vibes", "iconic", "w")),
          (("npc", "cringe", "scammed", "ghosted", "flopped", "skill-issue"), ("rizz", "peak", "gas", "hits", "elite", "chefs-kiss")))
N_WAVES = len(_SLANG)
#: Complaint words that turn into praise as ``flip_share`` goes from 0 to 1.
FLIPPING = ("insane", "sick", "crazy", "wild", "unreal", "nuts")
#: The rule the support team used before the model: flag a message with any of these words.
KEYWORDS = ("refund", "broken", "worst", "cancel", "terrible", "charged", "useless", "awful")

_N_FILLER, _N_TOPIC, _N_STD, _N_SLANG = 150, 40, 60, 30   # words per list


def _names(named: tuple[str, ...], size: int, prefix: str) -> list[str]:
    return list(named) + [f"{prefix}{k}" for k in range(len(named), size)]


# The vocabulary, in id order: filler, topic words, standard complaint and praise words
# (together the dictionary of launch time), slang wave by wave, then variant spellings.
_WORDS: list[str] = _names(_FILLER, _N_FILLER, "w")
for _t in TOPICS:
    _WORDS += _names(_TOPIC_WORDS[_t], _N_TOPIC, _t)
TOPIC_START = _N_FILLER
SENTIMENT_START = len(_WORDS)
_WORDS += _names(_COMPLAINT, _N_STD, "bad") + _names(_PRAISE, _N_STD, "good")
DICTIONARY_SIZE = len(_WORDS)              # ids below this were in the dictionary at launch
for _k, (_bad, _good) in enumerate(_SLANG):
    _WORDS += _names(_bad, _N_SLANG, f"bad{_k}_") + _names(_good, _N_SLANG, f"good{_k}_")
BASE_VOCAB = len(_WORDS)                   # every word in its own spelling
_WORDS += [f"{w}~{v + 1}" for w in _WORDS[TOPIC_START:BASE_VOCAB] for v in range(N_VARIANTS)]
#: Every token's text, by id.
VOCABULARY: tuple[str, ...] = tuple(_WORDS)
_ID = {w: i for i, w in enumerate(VOCABULARY)}

# Hashed bucket and sign of each token, as FeatureHasher computes them (murmurhash3,
# seed 0, alternate signs). The tables end with an entry of value 0 for the padding
# id -1, which numpy's negative indexing picks.
_HASH = np.array([murmurhash3_32(w, seed=0) for w in VOCABULARY], dtype=np.int64)
_BUCKET = np.r_[np.abs(_HASH) % N_BUCKETS, 0].astype(np.intp)
_SIGN = np.r_[np.where(_HASH >= 0, 1.0, -1.0), 0.0].astype(np.float32)
_IS_KEYWORD = np.isin(np.arange(len(VOCABULARY) + 1), [_ID[w] for w in KEYWORDS])


def _zipf(size: int) -> np.ndarray:
    """Word frequencies within a list: Zipf–Mandelbrot, rank r weighted 1/(r + 2)."""
    w = 1.0 / (np.arange(size) + 2.0)
    return w / w.sum()


_FLIP_MASK = np.isin(np.arange(_N_STD), [_COMPLAINT.index(w) for w in FLIPPING])
_FLIP_MASS = float(_zipf(_N_STD)[_FLIP_MASK].sum())  # share of complaint words that can flip


_TABLE_SIZE = 1 << 14


def _table(weights: np.ndarray) -> np.ndarray:
    """An inverse-CDF lookup table: entry k is the word at cumulative probability (k + 1/2) / 2**14.

    Drawing ``table[k]`` for a uniform integer k costs one lookup in a table
    that stays in cache; each word's probability is rounded to a multiple of
    2**-14 (0.006%), far below anything a day's sample resolves.
    """
    cdf = np.cumsum(weights) / np.sum(weights)
    grid = (np.arange(_TABLE_SIZE) + 0.5) / _TABLE_SIZE
    return np.minimum(np.searchsorted(cdf, grid, side="right"), len(cdf) - 1).astype(np.int16)


@lru_cache(maxsize=256)  # an incremental drift visits 16 states per event
def _sentiment_tables(slang: float, wave: float, flip: float) -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables of complaint and praise words (offsets from ``SENTIMENT_START``).

    A share ``slang`` of sentiment words is slang of the current ``wave`` (a
    fractional wave mixes two in turn). A flipped word leaves complaints (its
    weight times ``1 - flip``) and joins praise, where it takes the share of
    words it had among complaints (times ``flip``).
    """
    std = _zipf(_N_STD)
    neg, pos = np.zeros((2, BASE_VOCAB - SENTIMENT_START))
    kept = np.where(_FLIP_MASK, std * (1.0 - flip), std)
    neg[:_N_STD] = (1 - slang) * kept / kept.sum()
    pos[:_N_STD] = (1 - slang) * flip * np.where(_FLIP_MASK, std, 0.0)
    pos[_N_STD:2 * _N_STD] = (1 - slang) * (1 - flip * _FLIP_MASS) * std
    low = min(int(np.floor(wave)), N_WAVES - 1)
    for k, share in ((low, 1.0 - (wave - low)), (min(low + 1, N_WAVES - 1), wave - low)):
        at = 2 * _N_STD + 2 * _N_SLANG * k
        neg[at:at + _N_SLANG] += slang * share * _zipf(_N_SLANG)
        pos[at + _N_SLANG:at + 2 * _N_SLANG] += slang * share * _zipf(_N_SLANG)
    return _table(neg), _table(pos)


_FILLER_TABLE = _table(_zipf(_N_FILLER))
_TOPIC_TABLE = _table(_zipf(_N_TOPIC))
_TOPIC_OF = {k: _table(v) for k, v in _TOPIC_MIX.items()}


def text(rows: Rows, i: int) -> str:
    """The words of message ``i`` of ``rows``, for reading a sample.

    >>> text({f"tok_{j}": [_ID["refund"] if j == 1 else _ID["my"] if j == 0 else -1] for j in range(15)}, 0)
    'my refund'
    """
    ids = [int(rows[f"tok_{j}"][i]) for j in range(MAX_LEN)]
    return " ".join(VOCABULARY[t] for t in ids if t >= 0)


class LanguageDomain(Domain):
    """Support-inbox messages classified as complaints; F1 on complaints is the primary metric.

    F1 rather than accuracy: complaints are the minority (30%) and the class
    that costs, and a model that flags nothing still scores 70% accuracy.
    Accuracy, precision and recall are reported beside it.
    """

    metric = "f1"
    higher_is_better = True
    defaults = {
        "complaint_rate": 0.3,      # share of messages that are complaints (the prior)
        "slang_share": 0.0,         # share of sentiment words that are slang
        "slang_wave": 0.0,          # which wave of slang is in use (0, 1, 2; fractions mix two)
        "flip_share": 0.0,          # how far the FLIPPING words have turned from complaint to praise
        "spelling_share": 0.02,     # chance a content word is written in a variant spelling
        "mixed_share": 0.1,         # share of sentiment words of the other polarity ("love it but...")
        "length_mean": 10.0,        # tokens per message, between 5 and 15
    }
    # What a change of each parameter moves. Slang and spellings bring tokens the
    # model never saw (and raise the share outside the dictionary); a new wave of
    # slang swaps one unseen vocabulary for another, so only the token ids move.
    # A flip changes what words mean, not which are used: no input monitor sees it.
    param_targets = {
        "complaint_rate": ("prior", ()),
        "slang_share": ("covariate", (*TOKEN_COLUMNS, "oov_share")),
        "slang_wave": ("covariate", TOKEN_COLUMNS),
        "flip_share": ("concept", ()),
        "spelling_share": ("covariate", (*TOKEN_COLUMNS, "oov_share")),
        "mixed_share": ("concept", ()),
        "length_mean": ("covariate", (*TOKEN_COLUMNS, "length", "oov_share")),
    }
    drift_columns = ("length", "oov_share")
    feature_names = tuple(f"h{j}" for j in range(N_BUCKETS))
    # A complaint left in the normal queue waits days for an answer, and some of
    # those customers leave; a praise escalated by mistake costs an agent a minute.
    cost_keys = ("missed_complaint",)
    cost_defaults = {"missed_complaint": 12.0}

    @classmethod
    def check_value(cls, name: str, value: float) -> str | None:
        """Shares and rates are fractions; ``length_mean`` lies between 5 and 15 tokens."""
        if name == "slang_wave":
            return None if 0 <= value <= N_WAVES - 1 else f"must be between 0 and {N_WAVES - 1}"
        if name == "length_mean":
            return None if MIN_LEN <= value <= MAX_LEN else f"must be between {MIN_LEN} and {MAX_LEN} tokens"
        return None if 0 <= value <= 1 else "must be a fraction between 0 and 1"

    def sample(self, hours: np.ndarray, params: Mapping[str, Any], rng: np.random.Generator,
               times: np.ndarray | None = None) -> Rows:
        """Messages (token ids, ``length``, ``oov_share``) with ``label`` 1 for a complaint."""
        p = {**self.params, **params}
        n = len(hours)
        label = rng.random(n) < p["complaint_rate"]
        u_topic = rng.random(n)
        k_topic = (u_topic * _TABLE_SIZE).astype(np.intp)
        topic = np.where(label, _TOPIC_OF[1][k_topic], _TOPIC_OF[0][k_topic])
        length = MIN_LEN + rng.binomial(MAX_LEN - MIN_LEN, (p["length_mean"] - MIN_LEN) / (MAX_LEN - MIN_LEN), n)
        # Only the positions a message fills get a word: row and position of each.
        row, pos = np.nonzero(np.arange(MAX_LEN) < length[:, None])
        u_kind, u_pol, u_word, u_spell = rng.random((4, len(row)))
        is_sentiment = u_kind < _SENTIMENT_DENSITY
        is_topic = ~is_sentiment & (u_kind < _SENTIMENT_DENSITY + (1 - _SENTIMENT_DENSITY) * _TOPIC_TOKEN_SHARE)
        is_filler = ~is_sentiment & ~is_topic
        complaint_word = label[row] ^ (u_pol < p["mixed_share"])
        bad, good = _sentiment_tables(float(p["slang_share"]), float(p["slang_wave"]), float(p["flip_share"]))
        k = (u_word * _TABLE_SIZE).astype(np.intp)  # one uniform word rank per position, read from each table
        words = np.where(complaint_word, bad[k], good[k]) + SENTIMENT_START
        words = np.where(is_topic, TOPIC_START + _N_TOPIC * topic[row] + _TOPIC_TABLE[k], words)
        words = np.where(is_filler, _FILLER_TABLE[k], words)
        # Variant spellings of content words; the same uniform picks which variant.
        spell = p["spelling_share"]
        varied = (words >= TOPIC_START) & (u_spell < spell)
        variant = np.minimum((u_spell[varied] / spell * N_VARIANTS).astype(np.int64), N_VARIANTS - 1)
        words[varied] = BASE_VOCAB + N_VARIANTS * (words[varied] - TOPIC_START) + variant
        tokens = np.full((n, MAX_LEN), -1, dtype=np.int16)
        tokens[row, pos] = words
        rows: Rows = {f"tok_{j}": tokens[:, j] for j in range(MAX_LEN)}
        rows["length"] = length
        rows["oov_share"] = np.bincount(row, weights=words >= DICTIONARY_SIZE, minlength=n) / length
        rows["label"] = label.astype(np.int8)
        return rows

    def features(self, rows: Rows) -> np.ndarray:
        """Hashed token counts, signed and L2-normalised per row (scikit-learn's FeatureHasher + normalize)."""
        tokens = np.stack([rows[c] for c in TOKEN_COLUMNS], axis=1)
        n = len(tokens)
        value = _SIGN[tokens]
        flat = _BUCKET[tokens] + (np.arange(n) * N_BUCKETS)[:, None]
        X = np.zeros(n * N_BUCKETS, dtype=np.float32)
        np.add.at(X, flat.ravel(), value.ravel())
        # A row's squared norm is the sum over its tokens of sign times cell value; writing
        # the scaled values back over the same cells (duplicates carry equal values) normalises it.
        cells = X[flat]
        norm2 = (cells * value).sum(axis=1)
        scale = np.where(norm2 > 0, 1.0 / np.sqrt(np.maximum(norm2, 1e-12)), 0.0).astype(np.float32)
        X[flat] = cells * scale[:, None]
        return X.reshape(n, N_BUCKETS)

    def training_sample(self, y: np.ndarray, rng: np.random.Generator,
                        max_rows: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
        """A uniform sample of at most 10,000 labelled messages, about 20 per hashed feature.

        Half as many again would add half a point of F1 and cost every
        retraining half as much again.
        """
        return super().training_sample(y, rng, max_rows)

    def fit(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, rng: np.random.Generator) -> Scorer:
        """Logistic regression on the hashed features; the threshold maximises F1 on the training rows.

        The threshold is folded into the bias, so a score above 0 flags a complaint.
        """
        # liblinear reads the dense rows into its own sparse form: a dozen non-zeros each.
        model = LogisticRegression(C=1.0, solver="liblinear")
        model.fit(X, y, sample_weight=weight)
        weights = model.coef_[0].astype(np.float32)
        bias = float(model.intercept_[0])
        threshold = _f1_threshold(y, X @ weights + bias, weight)
        return LinearScorer(weights, bias - threshold, 0.0)

    def metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        """F1, precision and recall on complaints, and accuracy, of the flags (scores above 0)."""
        y = np.asarray(y) == 1
        flagged = np.asarray(scores) > 0
        tp = int(np.sum(y & flagged))
        fp = int(np.sum(~y & flagged))
        fn = int(np.sum(y & ~flagged))
        nan = float("nan")
        return {"f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else nan,
                "accuracy": float(np.mean(y == flagged)) if len(y) else nan,
                "precision": tp / (tp + fp) if tp + fp else nan,
                "recall": tp / (tp + fn) if tp + fn else nan}

    def fallback_flags(self, rows: Rows) -> np.ndarray:
        """The keyword rule: flag a message that contains any of :data:`KEYWORDS` in its own spelling.

        >>> rows = {f"tok_{j}": np.array([_ID["refund"], _ID["love"]]) if j == 0 else np.array([-1, -1])
        ...         for j in range(15)}
        >>> LanguageDomain().fallback_flags(rows).tolist()
        [True, False]
        """
        tokens = np.stack([rows[c] for c in TOKEN_COLUMNS], axis=1)
        return _IS_KEYWORD[tokens].any(axis=1)

    def error_costs(self, rows: Rows, flagged: np.ndarray, costs: Mapping[str, float]) -> np.ndarray:
        """A missed complaint costs ``missed_complaint``; a praise escalated by mistake, ``false_positive``."""
        complaint = np.asarray(rows["label"]) == 1
        missed = costs.get("missed_complaint", self.cost_defaults["missed_complaint"])
        return np.where(complaint & ~flagged, missed, 0.0) + np.where(~complaint & flagged, costs["false_positive"], 0.0)


def _f1_threshold(y: np.ndarray, scores: np.ndarray, weight: np.ndarray) -> float:
    """The score threshold that maximises weighted F1 (flag above it), halfway between two scores."""
    order = np.argsort(-scores, kind="stable")
    s, pos, w = scores[order], (np.asarray(y) == 1)[order], np.asarray(weight, dtype=np.float64)[order]
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(w * pos)[last_of_tie]
    fp = np.cumsum(w * ~pos)[last_of_tie]
    total_pos = tp[-1] if len(tp) else 0.0
    f1 = 2 * tp / np.maximum(tp + fp + total_pos, 1e-12)
    k = int(np.argmax(f1))
    cut = s[last_of_tie]
    return float((cut[k] + cut[k + 1]) / 2) if k + 1 < len(cut) else float(cut[k] - 1.0)
