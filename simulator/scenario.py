"""Scenario files: YAML into validated pydantic models, units parsed once.

>>> from simulator.scenario import load_scenario
>>> s = load_scenario("scenarios/fraud_covid.yaml")
>>> s.name, s.duration / 86400, s.traffic.rate
('fraud_covid', 365.0, 50.0)
"""
from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo,
                      field_validator, model_validator)

from .errors import ScenarioError, did_you_mean, short_repr
from .units import parse_duration, parse_rate
from .yaml_reader import MAX_BYTES, read_yaml

Duration = Annotated[float, BeforeValidator(parse_duration)]
Rate = Annotated[float, BeforeValidator(parse_rate)]

#: Highest arrival rate, per second, at any moment (numpy's Poisson draw stops near 1e19 a tick).
MAX_RATE = 1e12
_NAME_LIMIT = 100
_LONGEST_RUN = 36500 * 86400.0  # a run is a list of its days
_LONGEST_HISTORY = 3650 * 86400.0  # the first model's history is drawn day by day
_Z99 = statistics.NormalDist().inv_cdf(0.99)


class Strict(BaseModel):
    """Base model: unknown keys are errors, numbers finite, models immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class LabelDelay(Strict):
    """How long after its request a label arrives: a fixed delay, or a random one.

    In YAML, ``label_delay: 45d`` is a fixed delay; ``{dist: uniform, low: 30d,
    high: 90d}`` draws each label's delay uniformly (chargebacks arrive weeks to
    months late); ``{dist: exponential, mean: 3d}`` draws it exponentially.
    """

    dist: Literal["fixed", "uniform", "exponential"] = "fixed"
    value: Duration | None = None
    low: Duration | None = None
    high: Duration | None = None
    mean: Duration | None = None

    @model_validator(mode="after")
    def _needs(self) -> "LabelDelay":
        needed = {"fixed": ("value",), "uniform": ("low", "high"), "exponential": ("mean",)}[self.dist]
        for name in ("value", "low", "high", "mean"):
            given = getattr(self, name) is not None
            if name in needed and not given:
                raise ValueError(f"a {self.dist} label delay needs {name}")
            if name not in needed and given:
                raise ValueError(f"{name} is not a setting of a {self.dist} label delay")
            if given and getattr(self, name) < 0:
                raise ValueError(f"{name} must be zero or more")
        if self.dist == "uniform" and self.high < self.low:
            raise ValueError("high must be at least low")
        if self.dist == "exponential" and self.mean <= 0:
            raise ValueError("mean must be above 0")
        return self

    @property
    def fixed(self) -> bool:
        """True when every label takes the same time."""
        return self.dist == "fixed"

    @property
    def earliest(self) -> float:
        """The shortest possible delay, in seconds."""
        return {"fixed": self.value, "uniform": self.low, "exponential": 0.0}[self.dist]

    @property
    def median(self) -> float:
        """The delay by which half the labels have arrived, in seconds."""
        if self.dist == "uniform":
            return (self.low + self.high) / 2
        if self.dist == "exponential":
            return self.mean * float(np.log(2.0))
        return self.value

    @property
    def latest(self) -> float:
        """A delay by which (nearly) every label has arrived: the longest, or 7 means for exponential."""
        return {"fixed": self.value, "uniform": self.high, "exponential": 7.0 * (self.mean or 0.0)}[self.dist]

    def draw(self, rng, n: int):
        """``n`` delays in seconds."""
        if self.dist == "uniform":
            return rng.uniform(self.low, self.high, n)
        if self.dist == "exponential":
            return rng.exponential(self.mean, n)
        return np.full(n, self.value)


def _label_delay(value: Any) -> Any:
    """A plain duration is a fixed delay."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


class DomainSpec(Strict):
    """Which domain generates the traffic, and how its labels arrive.

    ``label_share`` is the fraction of requests that ever get a label (the
    rest are never reviewed, never charged back, never clicked on).
    """

    kind: str = "fraud"
    params: dict[str, Any] = Field(default_factory=dict)
    label_delay: Annotated[LabelDelay, BeforeValidator(_label_delay)] = LabelDelay(value="45d")
    label_share: float = Field(1.0, gt=0, le=1)
    train_window: Duration = 90 * 86400.0

    @field_validator("train_window")
    @classmethod
    def _some_history(cls, value: float) -> float:
        # The first model is trained on this window: an empty one has nothing to learn from.
        if not 86400.0 <= value <= _LONGEST_HISTORY:
            raise ValueError("must be from 1d to 3650d (the history the first model is trained on), e.g. 90d")
        return value

    @property
    def labels_complete(self) -> bool:
        """True when every label arrives, all after the same delay."""
        return self.label_delay.fixed and self.label_share == 1.0


class DriftEvent(Strict):
    """One change of the domain's parameters or concept (see :mod:`simulator.drift`).

    ``sudden`` switches at ``at``; ``gradual`` moves each request to the new
    state with a probability that rises along a sigmoid from ``at`` to
    ``at + width``; ``incremental`` moves numeric parameters linearly over the
    same span; ``recurring`` holds the new state for ``width`` out of every
    ``period`` from ``at`` on.
    """

    at: Duration
    kind: Literal["sudden", "gradual", "incremental", "recurring"] = "sudden"
    width: Duration = Field(0.0, validate_default=True)
    period: Duration | None = None
    set: dict[str, Any]

    @field_validator("width")
    @classmethod
    def _width_for_gradual(cls, width: float, info: ValidationInfo) -> float:
        kind = info.data.get("kind")
        if kind in ("gradual", "incremental", "recurring") and width <= 0:
            example = "width: 30d (each episode's length)" if kind == "recurring" else "width: 21d"
            raise ValueError(f"a {kind} drift needs a width above 0, e.g. {example}")
        return width

    @model_validator(mode="after")
    def _shape(self) -> "DriftEvent":
        if self.kind == "recurring":
            if self.period is None or self.period <= self.width:
                raise ValueError("a recurring drift needs a period longer than its width, e.g. period: 365d")
        elif self.period is not None:
            raise ValueError(f"period is for recurring drifts, not {self.kind}")
        if self.kind == "incremental":
            names = [k for k, v in self.set.items() if not isinstance(v, (int, float)) or isinstance(v, bool)]
            if names:
                raise ValueError(f"an incremental drift moves numbers, not {short_repr(names[0])}: use gradual for it")
        return self


class Spike(Strict):
    """A load spike: traffic multiplied for a while, ramped in and out."""

    at: Duration
    multiplier: float = Field(gt=0, le=1e6)
    duration: Duration
    ramp: Duration = 0.0


class FlashCrowd(Strict):
    """A sudden rush: traffic jumps to ``multiplier`` times at ``at`` and decays back."""

    at: Duration
    multiplier: float = Field(gt=0, le=1e6)
    half_life: Duration

    @field_validator("half_life")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be above 0")
        return value


class ScriptedRelease(Strict):
    """A model release shipped at ``at`` through each level's deployment, broken as ``fault`` says."""

    at: Duration
    fault: str = "none"

    @field_validator("fault")
    @classmethod
    def _known_fault(cls, value: str) -> str:
        from .serving.failures import DEPLOY_FAULTS

        names = [f.name for f in DEPLOY_FAULTS]
        if value != "none" and value not in names:
            raise ValueError(f"unknown fault {short_repr(value)}{did_you_mean(value, names)}; one of none, {', '.join(names)}")
        return value


class DataPathEvent(Strict):
    """A failure on the path that feeds the model, for ``duration`` from ``at``.

    ``feature_store_slow`` adds ``delay`` to every request; ``feature_store_down``
    sends every request to the fallback rule; ``schema_break`` (a field renamed
    upstream) turns ``feature`` into nulls, imputed as 0; ``skew`` computes
    ``feature`` differently online (``value * scale + shift``); ``stale`` stops
    ``feature`` updating (it holds one value).
    """

    at: Duration
    kind: Literal["feature_store_slow", "feature_store_down", "schema_break", "skew", "stale"]
    duration: Duration
    delay: Duration = 0.0
    feature: str | None = None
    scale: float = 1.0
    shift: float = 0.0

    @model_validator(mode="after")
    def _needs(self) -> "DataPathEvent":
        if self.kind in ("schema_break", "skew", "stale") and self.feature is None:
            raise ValueError(f"a {self.kind} names the model input it breaks: feature: ...")
        if self.kind == "feature_store_slow" and self.delay <= 0:
            raise ValueError("a slow feature store needs its delay, e.g. delay: 200ms")
        return self


class Traffic(Strict):
    """Arrival rate, its cycles, growth, spikes and flash crowds; ``sample_per_day`` bounds the rows scored."""

    rate: Rate
    daily_cycle: float = Field(0.0, ge=0, le=1)
    weekly_cycle: float = Field(0.0, ge=0, le=1)
    growth: float = Field(0.0, gt=-1, le=100)  # relative growth per 365 days, compounded
    spikes: list[Spike] = Field(default_factory=list)
    flash_crowds: list[FlashCrowd] = Field(default_factory=list)
    sample_per_day: int = Field(8000, ge=100, le=1_000_000)

    @field_validator("rate")
    @classmethod
    def _some_traffic(cls, value: float) -> float:
        # No traffic leaves nothing to serve or measure (availability would be 0/0).
        if value <= 0:
            raise ValueError("must be above 0, e.g. 50/s")
        if value > MAX_RATE:
            raise ValueError(f"must be at most {MAX_RATE:g}/s")
        return value


#: The range of latencies the latency histogram measures, seconds (``simulator.serving.latency.EDGES``).
LATENCY_RANGE = (1e-4, 100.0)


class ServiceTime(Strict):
    """Service-time distribution of one replica."""

    dist: Literal["lognormal", "exponential"] = "lognormal"
    mean: Duration
    p99: Duration | None = None

    @model_validator(mode="after")
    def _check(self) -> "ServiceTime":
        if self.mean < LATENCY_RANGE[0]:
            raise ValueError(f"mean must be at least {LATENCY_RANGE[0] * 1000:g}ms: latencies are measured from there")
        if self.dist == "lognormal":
            if self.p99 is None:
                raise ValueError("a lognormal service time needs p99 as well as mean")
            if self.p99 <= self.mean:
                raise ValueError("p99 must be above the mean")
            # A lognormal's p99/mean is below exp(z²/2) (z its 99% point); past it no lognormal fits.
            if math.log(self.p99 / self.mean) >= _Z99**2 / 2:
                raise ValueError(f"p99 must be less than {math.exp(_Z99**2 / 2):.1f} times the mean "
                                 "for a lognormal service time")
        return self


class Serving(Strict):
    """Replicas, their speed, the request timeout, what a replica-hour costs, and how often one crashes."""

    replicas: int = Field(4, ge=1, le=10_000_000)
    service_time: ServiceTime = ServiceTime(dist="lognormal", mean="20ms", p99="80ms")
    timeout: Duration = 1.0
    cost_per_replica_hour: float = Field(0.5, ge=0)
    failures: Literal["random", "none"] = "random"  # none: no replica crashes, no broken releases
    replica_mtbf: Duration = Field(30 * 86400.0, validate_default=False)  # mean time between crashes, per replica
    restart_time: Duration = 120.0  # a crashed replica is back after this
    # Requests a replica can hold (its share of the queue plus the one it serves)
    # before it runs out of memory and crashes; unset means memory never runs out.
    concurrency_budget: int | None = Field(None, ge=1)
    # Tick mode: serve ticks loaded to this utilisation or more request by request (exact;
    # pools of up to 256 replicas); null serves every tick in closed form, fast but far from
    # exact near saturation (see simulator.serving.queueing).
    exact_above: float | None = Field(0.7, gt=0)

    @field_validator("timeout")
    @classmethod
    def _timeout_measurable(cls, value: float) -> float:
        # Latencies are counted in bins from 0.1 ms to 100 s (simulator/serving/latency.py).
        if value > LATENCY_RANGE[1]:
            raise ValueError(f"must be at most {LATENCY_RANGE[1]:g}s: latencies are measured up to there")
        return value

    @field_validator("replica_mtbf")
    @classmethod
    def _positive_mtbf(cls, value: float) -> float:
        # Each crash is an event: a replica crashing every millisecond would never finish a run.
        if value < 3600.0:
            raise ValueError("must be at least 1h")
        return value


class Costs(Strict):
    """Dollar costs; a domain may read extra keys of its own."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)
    false_positive: float = Field(5.0, ge=0)
    failed_request: float = Field(0.02, ge=0)
    downtime_minute: float = Field(100.0, ge=0)
    engineer_hour: float = Field(120.0, ge=0)
    security_incident: float = Field(25_000.0, ge=0)


class Scenario(Strict):
    """A whole scenario, as read from YAML (times in seconds, rates per second)."""

    name: str  # also the results folder's name: see _plain_name
    description: str = ""
    seed: int = Field(0, ge=0)
    start: dt.date = dt.date(2020, 1, 1)
    duration: Duration
    tick: Duration = 60.0
    report_interval: Duration = 3600.0
    fidelity: Literal["tick", "request"] = "tick"
    policy_timeout: Duration = Field(5.0, gt=0)  # how long a user policy's call may take (policies/contract.py)
    domain: DomainSpec = DomainSpec()
    drift: list[DriftEvent] = Field(default_factory=list)
    traffic: Traffic
    serving: Serving = Serving()
    releases: list[ScriptedRelease] = Field(default_factory=list)
    data_path: list[DataPathEvent] = Field(default_factory=list)
    costs: Costs = Costs()
    levels: list[Literal[0, 1, 2, 3]] = [0, 1, 2, 3]
    overrides: dict[Literal[0, 1, 2, 3], dict[str, Any]] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        # The default results folder is results/<name>/<time>: a path here would write outside it.
        if not _PLAIN_NAME.fullmatch(value) or value in (".", ".."):
            raise ValueError(f"must be a plain name of at most {_NAME_LIMIT} letters, digits, '_', '-' or '.' "
                             f"(it names the results folder), not {short_repr(value)}")
        return value

    @field_validator("levels")
    @classmethod
    def _some_levels(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("must list at least one level, e.g. [0, 3]")
        twice = sorted({lvl for lvl in value if value.count(lvl) > 1})
        if twice:
            raise ValueError(f"level {twice[0]} is listed twice")
        return value

    @field_validator("duration")
    @classmethod
    def _positive_duration(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be above 0")
        if value > _LONGEST_RUN:  # a run is a list of its days
            raise ValueError("must be at most 36500d (a hundred years)")
        return value

    @field_validator("tick")
    @classmethod
    def _tick(cls, value: float) -> float:
        # Below a second a day has too many ticks to serve (request mode is the exact alternative).
        if value < 1 or value > 3600 or not _divides(value, 86400.0):
            raise ValueError("must be from 1s to 1h and divide a day (e.g. 1m)")
        return value

    @field_validator("report_interval")
    @classmethod
    def _report_interval(cls, value: float, info: ValidationInfo) -> float:
        tick = info.data.get("tick")
        if value <= 0 or not _divides(value, 86400.0):
            raise ValueError("must divide a day (e.g. 1h)")
        if tick is not None and (value < tick or not _divides(tick, value)):
            raise ValueError("must be a whole number of ticks")
        return value

    def with_days(self, days: float) -> "Scenario":
        """A copy that runs for ``days`` simulated days, without events that would start after its end."""
        end = float(days) * 86400.0
        traffic = self.traffic.model_copy(update={"spikes": [s for s in self.traffic.spikes if s.at < end],
                                                  "flash_crowds": [f for f in self.traffic.flash_crowds if f.at < end]})
        return self.model_copy(update={"duration": end, "drift": [d for d in self.drift if d.at < end],
                                       "releases": [r for r in self.releases if r.at < end],
                                       "data_path": [e for e in self.data_path if e.at < end], "traffic": traffic})


_PLAIN_NAME = re.compile(rf"[A-Za-z0-9_.-]{{1,{_NAME_LIMIT}}}")


def _divides(part: float, whole: float) -> bool:
    ratio = whole / part
    return abs(ratio - round(ratio)) < 1e-9


def load_scenario(path: str | Path, **replace: Any) -> Scenario:
    """Read, validate and cross-check a scenario file.

    Keyword arguments replace top-level keys before validation, e.g.
    ``load_scenario(path, seed=7, duration="30d")``.

    Raises
    ------
    ScenarioError
        With one line naming the file, the key path and the problem.
    """
    path = Path(path)
    source = str(path)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_BYTES + 1)  # no more: a huge file is refused unread
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError(source, None, "no such file") from None
    except UnicodeDecodeError:
        if len(raw) > MAX_BYTES:
            raise ScenarioError(source, None, f"larger than {MAX_BYTES:,} bytes: not a scenario file") from None
        raise ScenarioError(source, None, "not UTF-8 text") from None
    except OSError as exc:
        raise ScenarioError(source, None, f"cannot read: {exc.strerror}") from None
    data = read_yaml(text, source)  # bounded: size, depth, aliases; no duplicate keys
    if isinstance(data, dict):
        data = {**data, **replace}
    return scenario_from_dict(data, source)


def scenario_from_dict(data: Any, source: str = "<scenario>") -> Scenario:
    """Validate a parsed mapping (as from YAML) into a :class:`Scenario`."""
    if not isinstance(data, dict):
        raise ScenarioError(source, None, "the file must be a mapping of keys (name:, duration:, ...)")
    check_numbers(data, source)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, source) from None
    check_scenario(scenario, source)
    return scenario


def check_numbers(data: Any, source: str = "<scenario>") -> None:
    """Refuse any number in a parsed scenario that is not finite (``.inf``, ``.nan``), naming its key path.

    Every number a scenario holds ends up in arithmetic, often far from the
    key it came from (a Poisson draw, a model's inputs, a cost), so none may be
    infinite, and no integer may be too large to be a float.
    """
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, (*where, str(k))) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, (*where, str(i))) for i, v in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise ScenarioError(source, ".".join(where) or None, f"must be a finite number, not {value}")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > _LARGEST_INT:
            raise ScenarioError(source, ".".join(where) or None, f"{short_repr(value, 40)} is too large a number")


# Beyond this an integer does not fit in a float (or a numpy int64); no scenario setting comes near it.
_LARGEST_INT = 2**63 - 1


def check_scenario(scenario: Scenario, source: str = "<scenario>") -> None:
    """Cross-checks that need the domain and the presets (raise :class:`ScenarioError`)."""
    from .domains import load_domain_class
    from .levels import resolve_levels


    domain_cls = load_domain_class(scenario.domain.kind, source)
    domain_cls.check_params(scenario.domain.params, source, "domain.params")
    for key, value in (scenario.costs.model_extra or {}).items():
        if key not in domain_cls.cost_keys:
            known = [*Costs.model_fields, *domain_cls.cost_keys]
            raise ScenarioError(source, f"costs.{key}", "unknown cost" + did_you_mean(key, known))
        # The domain's own costs are read as they are: check them as the common ones are.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ScenarioError(source, f"costs.{key}",
                                f"must be a number of dollars, zero or more (got {short_repr(value)})")
    for i, event in enumerate(scenario.drift):
        if event.at >= scenario.duration:
            raise ScenarioError(source, f"drift.{i}.at", "the drift starts after the end of the run (duration)")
        domain_cls.check_params(event.set, source, f"drift.{i}.set")
    for i, spike in enumerate(scenario.traffic.spikes):
        if spike.at >= scenario.duration:
            raise ScenarioError(source, f"traffic.spikes.{i}.at", "the spike starts after the end of the run (duration)")
    names = domain_cls.feature_names
    for i, event in enumerate(scenario.data_path):
        if event.at >= scenario.duration:
            raise ScenarioError(source, f"data_path.{i}.at", "the event starts after the end of the run (duration)")
        if event.feature is not None and event.feature not in names:
            raise ScenarioError(source, f"data_path.{i}.feature",
                                f"unknown model input {short_repr(event.feature)}" + did_you_mean(event.feature, names))
    for i, release in enumerate(scenario.releases):
        if release.at >= scenario.duration:
            raise ScenarioError(source, f"releases.{i}.at", "the release comes after the end of the run (duration)")
    for i, crowd in enumerate(scenario.traffic.flash_crowds):
        if crowd.at >= scenario.duration:
            raise ScenarioError(source, f"traffic.flash_crowds.{i}.at", "the flash crowd starts after the end of the run")
    _check_peak_rate(scenario, source)
    resolve_levels(scenario, source)


def _check_peak_rate(scenario: Scenario, source: str) -> None:
    """Refuse traffic whose cycles, growth, spikes and flash crowds together pass :data:`MAX_RATE`."""
    tr = scenario.traffic
    # In logs: spikes and flash crowds multiply, and growth compounds over the whole run.
    log_peak = (math.log(tr.rate) + math.log1p(tr.daily_cycle) + math.log1p(tr.weekly_cycle)
                + math.log1p(tr.growth) * max(0.0, scenario.duration / (365 * 86400.0))
                + sum(math.log(max(1.0, s.multiplier)) for s in tr.spikes)
                + sum(math.log(max(1.0, f.multiplier)) for f in tr.flash_crowds))
    if log_peak > math.log(MAX_RATE):
        peak = math.exp(min(log_peak, 700.0))
        raise ScenarioError(source, "traffic", f"the arrival rate would reach {peak:.3g}/s (rate x cycles x growth "
                                               f"x spikes x flash crowds); at most {MAX_RATE:g}/s")


def _first_error(exc: ValidationError, source: str) -> ScenarioError:
    errors = exc.errors()
    # A misspelt key also makes the real key "missing": name the typo, it is the cause.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(part) for part in err["loc"] if part != "[key]"]
    key = ".".join(loc)
    if err["type"] == "extra_forbidden":
        return ScenarioError(source, key, "unknown key" + did_you_mean(loc[-1], _known_keys(Scenario, loc[:-1])))
    if err["type"] == "missing":
        return ScenarioError(source, key, "required key is missing")
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return ScenarioError(source, key or None, msg)


def _known_keys(model: type[BaseModel], loc: list[str]) -> list[str]:
    """The field names of the model found by following ``loc`` from ``model``."""
    import typing

    current: Any = model
    for part in loc:
        if part.isdigit():  # a list index: the item model was unwrapped already
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = field.annotation
        # Unwrap Optional/list/dict to the model inside.
        while typing.get_origin(current) is not None:
            args = [a for a in typing.get_args(current) if a is not type(None)]
            if part.isdigit() or typing.get_origin(current) in (list, dict):
                current = args[-1]
            else:
                current = args[0]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []
