"""The public API, function by function: its conventions, and each function on hostile input.

``REGISTER`` lists every public function of ``goodhart`` (and the methods of ``Proxy``) with
one valid call. The tests below

* fail when a public function is missing from the register (a new function must be added,
  and so walks through the hostile-input tests),
* check the conventions of the signatures: laws of the utility and the error keyword-only,
  random numbers through ``rng=None``, never ``seed``,
* replace each argument of each valid call by hostile values (NaN, infinities, huge and tiny
  numbers, wrong types, empty and ragged arrays, unfrozen and discrete laws) and by numbers
  drawn by hypothesis over the whole real line, and require either a result without NaN or a
  ``ValueError`` whose message names the argument: never another exception, never a silent NaN.

Accuracy against independent references is the business of each module's own tests.
"""

import dataclasses
import importlib
import inspect
import pkgutil
import re
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import goodhart
from goodhart import Proxy

NORMAL, T3 = stats.norm(), stats.t(3)
SAMPLES = np.random.default_rng(0).standard_normal(400)
PAIR = Proxy(utility=stats.norm(0, 2), error=stats.t(3))


def proxy(name):
    return f"goodhart.proxy.Proxy.{name}"


# One valid call of each public function, as keyword arguments (positional-only: none).
REGISTER = {
    "goodhart.tails.log1mexp": {"log_p": -1.0},
    "goodhart.tails.log_sf": {"q": NORMAL, "t": 1.0},
    "goodhart.tails.log_cdf": {"q": NORMAL, "t": 1.0},
    "goodhart.tails.decay_rate": {"q": NORMAL, "x": 2.0},
    "goodhart.tails.hazard_rate": {"q": NORMAL, "x": 2.0},
    "goodhart.tails.tail_mean": {"q": T3, "t": 2.0},
    "goodhart.tails.body_mean": {"q": T3, "t": 2.0},
    "goodhart.tails.subexponential_ratio": {"q": T3, "x": 5.0},
    "goodhart.tails.standard_form": {"q": T3},
    "goodhart.tails.mgf_radius": {"q": T3},
    "goodhart.tails.is_heavy_tailed": {"q": T3},
    "goodhart.tails.classify": {"q": T3},
    "goodhart.divergences.bernoulli_kl": {"mass": 0.3, "log_p": -2.0},
    "goodhart.divergences.mixture_kl": {"alpha": 0.01, "log_q": -100.0},
    "goodhart.divergences.first_order_kl": {"alpha": 0.01, "log_q": -100.0},
    "goodhart.divergences.alpha_for_kl": {"kl": 1.0, "log_q": -100.0},
    "goodhart.divergences.discrete_kl": {"p": [0.5, 0.5], "q": [0.9, 0.1]},
    "goodhart.divergences.total_variation": {"p": [0.5, 0.5], "q": [0.9, 0.1]},
    proxy("logsf"): {"t": 3.0},
    proxy("sf"): {"t": 3.0},
    proxy("logcdf"): {"t": 3.0},
    proxy("logpdf"): {"u": 3.0},
    proxy("pdf"): {"u": 3.0},
    proxy("isf"): {"q": 1e-3},
    proxy("conditional_mean"): {"t": 3.0},
    proxy("conditional_error"): {"t": 3.0},
    proxy("conditional_mean_monte_carlo"): {"t": 1.0, "size": 20_000, "rng": 1},
    proxy("utility_given"): {"u": 3.0},
    proxy("best_of_n"): {"n": 16},
    proxy("penalized_optimum"): {"beta": 1.0},
    proxy("sample"): {"size": 10, "rng": 1},
    "goodhart.best_of_n.paper_pairs": {},
    "goodhart.best_of_n.utility_peak": {"proxy": PAIR, "n_max": 1e6},
    "goodhart.best_of_n.sample_best_of_n": {"proxy": PAIR, "n": 8, "trials": 4, "rng": 1},
    "goodhart.tilting.tilt": {"v": NORMAL, "lam": 0.5},
    "goodhart.tilting.log_mgf": {"v": NORMAL, "lam": 0.5},
    "goodhart.tilting.kl_frontier": {"v": NORMAL, "d": 0.1},
    "goodhart.tilting.frontier_series": {"v": NORMAL},
    "goodhart.tilting.penalized_optimum": {"utility": NORMAL, "error": NORMAL, "beta": 1.0},
    "goodhart.reweighting.upweight_tail": {"q": T3, "t": 10.0, "mass": 0.1},
    "goodhart.reweighting.cheapest_upweighting": {"q": T3, "mean": 3.0, "bounds": (2.0, 1e4)},
    "goodhart.bounded_reward.optimum": {
        "utility": NORMAL, "error": T3, "reward": "clip", "level": 3.0, "beta": 1.0,
    },
    "goodhart.bounded_reward.sampled_optimum": {
        "utility": NORMAL, "error": T3, "reward": np.tanh, "bound": 1.0, "beta": 1.0,
        "size": 1000, "rng": 1,
    },
    proxy("report"): {},
}

# The Proxy each method is called on (the pair above, unless it needs another).
INSTANCES = {proxy("penalized_optimum"): Proxy(utility=NORMAL, error=NORMAL)}

# Public names checked elsewhere, with the reason.
EXEMPT = {
    "goodhart.plotting.use_book_style": "no arguments; sets matplotlib's style",
}

HOSTILE = {
    "nan": np.nan,
    "inf": np.inf,
    "-inf": -np.inf,
    "huge": 1e308,
    "-huge": -1e308,
    "tiny": 5e-324,
    "none": None,
    "text": "text",
    "true": True,
    "complex": 1j,
    "empty": [],
    "ragged": [[1.0, 2.0], [3.0]],
}
HOSTILE_LAWS = {
    "unfrozen": stats.norm,
    "discrete": stats.poisson(3.0),
    "none": None,
    "text": "norm",
    "number": 3.0,
}
LAW_NAMES = {"q", "v", "utility", "error", "dist", "null", "alternative"}


def public_functions():
    """Every public function of every public module of goodhart, and Proxy's methods."""
    found = {}
    for info in pkgutil.iter_modules(goodhart.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"goodhart.{info.name}")
        names = getattr(module, "__all__", None) or [n for n in vars(module) if n[0] != "_"]
        for name in names:
            obj = getattr(module, name)
            if inspect.isfunction(obj) and obj.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = obj
    for name, method in vars(Proxy).items():
        if inspect.isfunction(method) and not name.startswith("_"):
            found[proxy(name)] = method
    return found


PUBLIC = public_functions()


def call(name, **changes):
    """The registered call of ``name`` with some arguments replaced."""
    kwargs = {**REGISTER[name], **changes}
    if name.startswith("goodhart.proxy.Proxy."):
        return getattr(INSTANCES.get(name, PAIR), name.rsplit(".", 1)[1])(**kwargs)
    return PUBLIC[name](**kwargs)


def nan_in(result, depth=0):
    """True if a NaN sits anywhere in ``result`` (numbers, arrays, dataclasses, containers)."""
    if depth > 4:
        return False
    if isinstance(result, (float, np.floating, np.ndarray)):
        return bool(np.any(np.isnan(np.asarray(result, dtype=float))))
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return any(nan_in(getattr(result, f.name), depth + 1)
                   for f in dataclasses.fields(result))
    if isinstance(result, (tuple, list)):
        return any(nan_in(item, depth + 1) for item in result)
    if isinstance(result, dict):
        return any(nan_in(item, depth + 1) for item in result.values())
    return False


def assert_named_error_or_clean(name, argument, value):
    """The contract: a result without NaN, or a ValueError that names the argument."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = call(name, **{argument: value})
    except ValueError as error:
        assert re.search(rf"\b{argument}\b", str(error)), f"{name}({argument}={value!r}): {error}"
        return
    except Exception as error:  # noqa: BLE001 - any other exception breaks the contract
        pytest.fail(f"{name}({argument}={value!r}) raised {type(error).__name__}: {error}")
    assert not nan_in(result), f"{name}({argument}={value!r}) returned a NaN"


def test_every_public_function_is_registered():
    missing = sorted(set(PUBLIC) - set(REGISTER) - set(EXEMPT))
    stale = sorted((set(REGISTER) | set(EXEMPT)) - set(PUBLIC))
    assert not missing, f"public functions without a registered call: {missing}"
    assert not stale, f"registered names that are not public functions: {stale}"


@pytest.mark.parametrize("name", sorted(REGISTER))
def test_the_registered_call_works(name):
    assert not nan_in(call(name))


def test_both_laws_are_keyword_only_wherever_a_function_takes_both():
    for name, function in PUBLIC.items():
        parameters = inspect.signature(function).parameters
        if {"utility", "error"} <= set(parameters):
            for law in ("utility", "error"):
                assert parameters[law].kind is inspect.Parameter.KEYWORD_ONLY, (name, law)


def test_random_numbers_come_through_rng_none():
    for name, function in PUBLIC.items():
        parameters = inspect.signature(function).parameters
        assert "seed" not in parameters, f"{name} takes a seed: use rng=None (SPEC 7)"
        if "rng" in parameters:
            assert parameters["rng"].default is None, f"{name}: rng must default to None"


ARGUMENTS = sorted((name, argument) for name in REGISTER for argument in REGISTER[name])


@pytest.mark.parametrize(("name", "argument"), ARGUMENTS)
def test_hostile_values_give_a_named_value_error_or_a_clean_result(name, argument):
    pool = HOSTILE_LAWS if argument in LAW_NAMES else HOSTILE
    for value in pool.values():
        assert_named_error_or_clean(name, argument, value)


NUMERIC = [
    (name, argument)
    for name, argument in ARGUMENTS
    if isinstance(REGISTER[name][argument], float) and argument not in {"rng", "size", "n"}
]


@pytest.mark.parametrize(("name", "argument"), NUMERIC)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_any_real_number_gives_a_named_value_error_or_a_clean_result(name, argument, value):
    assert_named_error_or_clean(name, argument, value)


def test_the_version_is_the_same_in_the_package_its_metadata_and_the_citation():
    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    citation = re.search(r"^version: (\S+)$", (root / "CITATION.cff").read_text(), re.M)[1]
    assert goodhart.__version__ == project == citation
