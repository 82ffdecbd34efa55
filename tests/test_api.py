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
  The hostile values follow the kind of the registered value (:func:`pool`): numbers and
  arrays of numbers (also with a NaN or an infinity inside, one entry short, negated), laws,
  files (missing, a directory), choices given as text, functions, flags and other objects.
  A message naming the file it was given counts as naming a file argument (the command
  line's one-line errors), and ``NAMED_AS`` lists the two other words accepted.

Accuracy against independent references is the business of each module's own tests. The
chapters' figure modules (``goodhart.plotting.<chapter>``) are not walked here: each draws one
chapter's figures from that chapter's computed results, and tests/test_figures_<chapter>.py
draws them on small inputs (nbval then checks them in the chapters).
"""

import dataclasses
import importlib
import inspect
import numbers
import pkgutil
import re
import tempfile
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from scipy import stats

import goodhart
from goodhart import Proxy, diagnostics, mdp, occupancy, report, results
from goodhart.trees import TokenTree, random_policy, sequence_probabilities, uniform_policy

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NORMAL, T3 = stats.norm(), stats.t(3)
SAMPLES = np.random.default_rng(0).standard_normal(400)
PAIR = Proxy(utility=stats.norm(0, 2), error=stats.t(3))
HEAVY_PAIR = Proxy(utility=stats.t(5), error=stats.t(3))

# Files of the calls that read or write one (a folder of this test run).
FOLDER = Path(tempfile.mkdtemp(prefix="goodhart-api-"))
SAMPLES_FILE = FOLDER / "samples.txt"
SAMPLES_FILE.write_text("\n".join(f"{float(x)!r}" for x in SAMPLES) + "\n")
FIGURE = Figure()
AXES = list(FIGURE.subplots(2, 2).ravel())
CARD = results.collect(BOOK)

# Small token trees: FLAT has 4 sequences of two tokens, ENDS 3 sequences (end, 0, 1).
FLAT = TokenTree(tokens=2, horizon=2, end_token=False)
ENDS = TokenTree(tokens=2, horizon=1, end_token=True)
FLAT_BASE, ENDS_BASE = uniform_policy(FLAT), uniform_policy(ENDS)
TILTED = np.array([[0.4, 0.6], [0.25, 0.75], [0.1, 0.9]])
DEEP = TokenTree(tokens=2, horizon=4, end_token=False)
DEEP_BASE = random_policy(DEEP, rng=0)
DEEP_RETURNS = mdp.quantile_returns(T3, sequence_probabilities(DEEP, DEEP_BASE))
THREE = [0.25, 0.25, 0.5]
CLIFF, START = occupancy.cliff_mdp(2), [1.0, 0.0, 0.0, 0.0]
SAFE = np.tile([0.99, 0.01], (4, 1))
HACK = np.vstack([[0.8, 0.2], SAFE[1:]])
REWARD = np.array([0.0, 1.0, 0.0])


def tanh_reward(sample):
    return np.tanh(sample.proxy)


def log_double(r):
    return np.log(2.0) * np.asarray(r)


def minus_tanh(e):
    return -np.tanh(e)


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
    proxy("tail"): {"t": 3.0},
    proxy("conditional_error"): {"t": 3.0},
    proxy("conditional_mean_below"): {"t": 3.0},
    proxy("conditional_error_below"): {"t": 3.0},
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
    "goodhart.tilting.standardized": {"law": stats.weibull_min(1.5)},
    "goodhart.reweighting.upweight_tail": {"q": T3, "t": 10.0, "mass": 0.1},
    "goodhart.reweighting.cheapest_upweighting": {"q": NORMAL, "mean": 3.0,
                                                  "bounds": (2.0, 1e4)},
    "goodhart.bounded_reward.optimum": {
        "utility": NORMAL, "error": T3, "reward": "clip", "level": 3.0, "beta": 1.0,
    },
    "goodhart.bounded_reward.sampled_optimum": {
        "utility": NORMAL, "error": T3, "reward": tanh_reward, "bound": 1.0, "beta": 1.0,
        "size": 1000, "rng": 1,
    },
    proxy("report"): {},
    # the command line's helpers (cli.main runs end to end in tests/test_cli.py)
    "goodhart.cli.load_samples": {"path": SAMPLES_FILE},
    "goodhart.cli.output_path": {"out": FOLDER / "report.png", "samples_path": SAMPLES_FILE},
    "goodhart.cli.report_dict": {"report": diagnostics.tail_report(SAMPLES)},
    "goodhart.cli.write_png": {"figure": FIGURE, "target": FOLDER / "written.png"},
    "goodhart.data.acg_edits": {"step": 999},
    "goodhart.data.load": {"name": "acg_rewards"},
    "goodhart.data.names": {},
    "goodhart.data.path": {"name": "random_starling"},
    "goodhart.data.provenance": {},
    "goodhart.dependence.both_heavy_families": {"t": 1e6, "law": T3},
    "goodhart.dependence.discrete_error_conditional_mean": {
        "utility": stats.gumbel_l(), "points": np.arange(12.0) ** 2,
        "log_weights": -np.arange(12.0) ** 4, "t": 17.0,
    },
    "goodhart.dependence.discrete_error_logsf": {
        "points": np.arange(12.0) ** 2, "log_weights": -np.arange(12.0) ** 4, "t": 17.0,
    },
    "goodhart.dependence.tilted_pair": {
        "utility": T3, "error": T3, "t": 1e12, "utility_mass": 1e-12**0.8,
        "error_mass": 1e-12, "error_sign": 1.0,
    },
    "goodhart.diagnostics.bend_null_range": {"n": 3000, "level": 0.05},
    "goodhart.diagnostics.bend_reading": {"test": diagnostics.MeanExcessTest(1.5, 50, 1500,
                                                                              0.999, 0.001)},
    "goodhart.diagnostics.bend_sample_size": {"dist": stats.t(10), "power": 0.9, "level": 0.05,
                                              "high": 1e10},
    "goodhart.diagnostics.calibrate": {"dist": stats.expon(), "n": 200, "replicates": 10,
                                       "rng": 0},
    "goodhart.diagnostics.condition_on_top": {"samples": [1.0, 4.0, 2.0, 3.0], "k": 2},
    "goodhart.diagnostics.draw_report": {"axes": AXES, "samples": SAMPLES, "k": [2, 5, 10],
                                         "centred": True, "log_counts": False},
    "goodhart.diagnostics.exponential_bend": {"samples": SAMPLES},
    "goodhart.diagnostics.exponential_bend_functional": {"dist": stats.t(10), "n": 30000.0},
    "goodhart.diagnostics.exponential_qq": {"samples": SAMPLES},
    "goodhart.diagnostics.hill_estimator": {"samples": SAMPLES, "k": 20, "centred": True},
    "goodhart.diagnostics.hill_functional": {"dist": stats.expon(), "tail_fraction": 0.01},
    "goodhart.diagnostics.hill_k_range": {"n": 3000, "high": 0.5, "authors": False},
    "goodhart.diagnostics.hill_power": {"null": NORMAL, "alternative": stats.t(10), "n": 500,
                                        "replicates": 10, "size": 0.05, "rng": 1},
    "goodhart.diagnostics.hill_reading": {"test": diagnostics.MeanExcessTest(0.5, 10, 50,
                                                                              0.01, 0.99)},
    "goodhart.diagnostics.hill_sample_size": {"null": NORMAL, "alternative": stats.t(10),
                                              "size": 0.05, "power": 0.9},
    "goodhart.diagnostics.hill_trend": {"samples": SAMPLES},
    "goodhart.diagnostics.normal_qq": {"samples": SAMPLES},
    "goodhart.diagnostics.report_figure": {"samples": SAMPLES, "title": "t", "k": [2, 5, 10]},
    "goodhart.diagnostics.require_samples": {"samples": SAMPLES, "minimum": 2},
    "goodhart.diagnostics.summary": {"samples": SAMPLES},
    "goodhart.diagnostics.tail_above_mean": {"samples": SAMPLES},
    "goodhart.diagnostics.tail_report": {"samples": SAMPLES},
    "goodhart.diagnostics.upper_half_excesses": {"samples": SAMPLES},
    "goodhart.mdp.boundary_threshold": {"q": NORMAL, "probabilities": THREE,
                                        "returns": mdp.quantile_returns(NORMAL, THREE), "t": 0.5},
    "goodhart.mdp.chance_sequence_probabilities": {
        "tree": FLAT, "policy": TILTED, "nature": FLAT_BASE, "chance_levels": {0},
    },
    "goodhart.mdp.quantile_returns": {"q": NORMAL, "probabilities": THREE},
    "goodhart.mdp.read_off_merged_policy": {"tree": FLAT, "rho": [0.4, 0.1, 0.1, 0.4],
                                            "token": 1},
    "goodhart.mdp.read_off_policy": {"tree": FLAT, "rho": [0.1, 0.3, 0.0, 0.6],
                                     "base": FLAT_BASE},
    "goodhart.mdp.reweight_by_return": {"probabilities": THREE, "returns": [0.0, 1.0, 2.0],
                                        "log_ratio": log_double},
    "goodhart.mdp.tail_policy": {"tree": DEEP, "base": DEEP_BASE, "q": T3,
                                 "returns": DEEP_RETURNS, "t": 2.0, "mass": 0.1},
    "goodhart.occupancy.action_kl": {"transition": CLIFF, "policy": HACK, "base": SAFE,
                                     "start": START, "horizon": 3, "per": "trajectory"},
    "goodhart.occupancy.cliff_car": {"length": 2, "turn": 0.01, "hack_turn": 0.2},
    "goodhart.occupancy.cliff_mdp": {"length": 2},
    "goodhart.occupancy.occupancy_kl": {"transition": CLIFF, "policy": HACK, "base": SAFE,
                                        "start": START, "horizon": 3},
    "goodhart.occupancy.state_marginals": {"transition": CLIFF, "policy": HACK, "start": START,
                                           "horizon": 3},
    "goodhart.occupancy.tree_occupancy": {"tree": ENDS, "policy": ENDS_BASE},
    "goodhart.occupancy.tree_divergences": {"tree": ENDS, "policy": [[0.2, 0.5, 0.3]],
                                            "base": ENDS_BASE},
    "goodhart.plotting.below": {"bound": "1e-12", "spec": ".2e"},
    "goodhart.plotting.figsize": {"ncols": 1, "nrows": 1, "aspect": 0.6, "width": 7.0},
    "goodhart.plotting.style": {"role": "utility"},
    "goodhart.plotting.table": {"rows": [["normal", 1.0, 0.12345]],
                                "headers": ["law", "mean", "KL"], "formats": [None, ".3g", ".2e"],
                                "caption": "Two laws.", "name": "tab-laws"},
    "goodhart.regions.insensitivity": {"error": T3, "t": 1e6, "h": 100.0},
    "goodhart.regions.log_both_large": {"proxy": HEAVY_PAIR, "t": 1e4, "h": 40.0},
    "goodhart.regions.log_corrected_tail_moment": {"t": 1e4},
    "goodhart.regions.slowly_varying_bound": {"log_t": 100.0},
    "goodhart.regions.split": {"proxy": HEAVY_PAIR, "t": 25.0, "h": 4.0},
    "goodhart.remedies.bounded_objective": {"utility": NORMAL, "error": T3, "beta": 0.1,
                                            "t": 10.0},
    "goodhart.remedies.bounded_objective_optimum": {"utility": NORMAL,
                                                    "error": stats.norm(0, 3**0.5), "beta": 0.1},
    "goodhart.remedies.quantilizer": {"utility": NORMAL, "error": T3, "q": 0.05},
    "goodhart.remedies.three_knob": {"utility": NORMAL, "error": T3, "kl": 0.5, "severity": 1.0},
    "goodhart.report.parse_law": {"spec": "t(3, scale=2)", "name": "error"},
    "goodhart.report.report": {"proxy": PAIR, "budgets": (0.1,), "betas": (1.0,)},
    "goodhart.results.record": {"values": {"key": 1.5, "word": "extends"}, "digits": 3},
    "goodhart.results.collect": {"book_dir": BOOK},
    "goodhart.results.counts_markdown": {"card": CARD},
    "goodhart.results.draw_map": {"card": CARD, "legend": True},
    "goodhart.results.glue_references": {"path": BOOK / "scorecard.ipynb"},
    "goodhart.results.map_edges": {},
    "goodhart.results.missing_references": {"pages": [BOOK / "intro.md"], "book_dir": BOOK},
    "goodhart.results.page_values": {"card": CARD},
    "goodhart.results.part_markdown": {"card": CARD, "part": "theorems", "book_dir": BOOK,
                                       "number": 1},
    "goodhart.results.problems": {"card": CARD, "book_dir": BOOK},
    "goodhart.results.read_glue": {"path": BOOK / "theorem1.ipynb"},
    "goodhart.reweighting.upweight_proxy": {"proxy": Proxy(utility=NORMAL, error=T3), "t": 1e6,
                                            "mass": 1e6**-0.8},
    "goodhart.reweighting.upweight_proxy_gaussian": {"error": T3, "t": 1e4, "mass": 1e4**-0.8,
                                                     "utility_mean": minus_tanh,
                                                     "utility_sd": 1.0},
    "goodhart.rl.budget_optimum": {"tree": ENDS, "base": ENDS_BASE, "reward": REWARD,
                                   "budget": 0.1},
    "goodhart.rl.depth_sweep": {"depth": [1, 2], "tokens": 2, "token": 1, "rate": 1.0,
                                "growth": "exponential", "end_probability": 0.5,
                                "budget": 0.1, "draws": 3, "rng": 0},
    "goodhart.rl.evaluate": {"tree": ENDS, "policy": ENDS_BASE, "base": ENDS_BASE,
                             "reward": REWARD, "beta": 1.0},
    "goodhart.rl.exploit_reward": {"tree": TokenTree(tokens=2, horizon=2, end_token=True),
                                   "token": 1, "rate": 1.1, "growth": "exponential",
                                   "utility": np.zeros(7)},
    "goodhart.rl.kl_coef_for_target": {"tree": ENDS, "base": ENDS_BASE, "reward": REWARD,
                                       "target": 0.1},
    "goodhart.rl.next_kl_coef": {"beta": 1.0, "kl": 1.1, "target": 1.0, "gain": 0.1},
    "goodhart.rl.reinforce_gradient": {"tree": ENDS, "policy": ENDS_BASE, "base": ENDS_BASE,
                                       "reward": REWARD, "beta": 1.0, "size": 100, "rng": 0},
    "goodhart.rl.tilted_optimum": {"tree": ENDS, "base": ENDS_BASE, "reward": REWARD,
                                   "beta": 1.0},
    "goodhart.rl.tilted_policy": {"tree": ENDS, "base": ENDS_BASE, "reward": REWARD,
                                  "beta": 1.0},
    "goodhart.rl.train": {"tree": ENDS, "base": ENDS_BASE, "reward": REWARD, "beta": 1.0,
                          "steps": 10, "learning_rate": 0.05, "batch_size": 16, "rng": 0},
    "goodhart.trees.child_values": {"tree": ENDS, "level": 0, "below": [10.0, 20.0],
                                    "sequence_values": [5.0, 10.0, 20.0]},
    "goodhart.trees.expectation": {"tree": ENDS, "policy": ENDS_BASE, "values": [1.0, 2.0, 3.0]},
    "goodhart.trees.kl_by_level": {"tree": FLAT, "policy": TILTED, "base": FLAT_BASE},
    "goodhart.trees.kl_by_state": {"tree": FLAT, "policy": TILTED, "base": FLAT_BASE},
    "goodhart.trees.policy_from_logits": {"tree": FLAT, "logits": np.zeros((3, 2))},
    "goodhart.trees.policy_kl": {"tree": FLAT, "policy": TILTED, "base": FLAT_BASE,
                                 "per": "state"},
    "goodhart.trees.random_policy": {"tree": FLAT, "concentration": 1.0, "rng": 0},
    "goodhart.trees.reach_probabilities": {"tree": FLAT, "policy": TILTED},
    "goodhart.trees.sample_paths": {"tree": FLAT, "policy": TILTED, "size": 4, "rng": 0},
    "goodhart.trees.sequence_probabilities": {"tree": FLAT, "policy": TILTED, "log": True},
    "goodhart.trees.uniform_policy": {"tree": ENDS, "end_probability": 0.5},
    "goodhart.trees.value_distribution": {"tree": FLAT, "policy": TILTED,
                                          "values": [0.0, 1.0, 1.0, 2.0]},
}

# The Proxy each method is called on (the pair above, unless it needs another).
INSTANCES = {proxy("penalized_optimum"): Proxy(utility=NORMAL, error=NORMAL)}

# Public names checked elsewhere, with the reason.
EXEMPT = {
    "goodhart.plotting.use_book_style": "no arguments; sets matplotlib's style",
    "goodhart.cli.main": "the command line, run end to end on files in tests/test_cli.py",
    "goodhart.cli.quiet_when_the_reader_leaves": "a decorator of the commands' mains: "
                                                 "tests/test_cli.py closes their pipe early",
    "goodhart.report.main": "the command line, run end to end in tests/test_report.py",
}

# Where the message may name the argument by another word: parse_law names the role it is
# given; require_samples refuses too few samples for a valid minimum: the samples are at fault.
NAMED_AS = {
    ("goodhart.report.parse_law", "spec"): "error",
    ("goodhart.diagnostics.require_samples", "minimum"): "samples",
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
# Arguments that are not numbers: only the hostile values that make sense for their kind.
HOSTILE_PATHS = {
    "missing": FOLDER / "no-such-directory" / "no-such-file.txt",  # never created
    "directory": FOLDER,
    "none": None,
    "number": 3.0,
}
HOSTILE_TEXT = {"unknown": "no-such-choice", "empty": "", "none": None, "number": 3.0}
HOSTILE_CALLABLES = {"none": None, "number": 3.0, "text": "text", "array": [1.0, 2.0]}
HOSTILE_OBJECTS = {"none": None, "number": 3.0, "nan": np.nan, "text": "text", "law": NORMAL}
HOSTILE_FLAGS = {"none": None, "text": "text", "nan": np.nan}


def is_law(value):
    return hasattr(value, "dist") and hasattr(value, "logsf")


def is_numbers(value):
    """A number, or a non-empty array (list, tuple) of numbers."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, numbers.Real):
        return True
    if isinstance(value, (np.ndarray, list, tuple)):
        array = np.asarray(value, dtype=object)
        return array.size > 0 and all(
            isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))
            for x in array.ravel()
        )
    return False


def array_variants(value):
    """An array of numbers spoiled: a NaN, an infinity inside, one entry short, negated."""
    array = np.array(value, dtype=float)
    nan, inf = array.copy(), array.copy()
    nan.flat[0], inf.flat[-1] = np.nan, np.inf
    variants = {"nan-inside": nan, "inf-inside": inf, "negated": -array}
    if len(array) > 1:
        variants["shorter"] = array[:-1]
    return variants


def pool(name, argument):
    """The hostile values for one argument, by the kind of its registered value."""
    value = REGISTER[name][argument]
    if is_law(value):
        return HOSTILE_LAWS
    if isinstance(value, Path):
        return HOSTILE_PATHS
    if isinstance(value, str):
        return HOSTILE_TEXT
    if isinstance(value, (bool, np.bool_)):
        return HOSTILE_FLAGS
    if is_numbers(value):
        return HOSTILE if np.ndim(value) == 0 else {**HOSTILE, **array_variants(value)}
    if callable(value) and not isinstance(value, type):
        return HOSTILE_CALLABLES
    return HOSTILE_OBJECTS


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


def call(name, /, **changes):
    """The registered call of ``name`` with some arguments replaced."""
    kwargs = {**REGISTER[name], **changes}
    if name.startswith("goodhart.proxy.Proxy."):
        return getattr(INSTANCES.get(name, PAIR), name.rsplit(".", 1)[1])(**kwargs)
    return PUBLIC[name](**kwargs)


# NaN as a documented mark, not a silent failure: the report's witnesses are NaN where no mass
# reaches the gain, and an optimum that does not exist is NaN with its ``reason`` given.
DOCUMENTED_NAN = {
    report.Witness: lambda w: {"mass", "kl", "utility", "least_kl"},
    report.Optimum: lambda o: {"utility", "error", "proxy", "kl"} if o.reason else set(),
}


def nan_in(result, depth=0):
    """True if a NaN sits anywhere in ``result`` (numbers, arrays, dataclasses, containers)."""
    if depth > 4:
        return False
    if isinstance(result, (float, np.floating, np.ndarray)):
        return bool(np.any(np.isnan(np.asarray(result, dtype=float))))
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        marked = DOCUMENTED_NAN.get(type(result), lambda r: set())(result)
        return any(nan_in(getattr(result, f.name), depth + 1)
                   for f in dataclasses.fields(result) if f.name not in marked)
    if isinstance(result, (tuple, list)):
        return any(nan_in(item, depth + 1) for item in result)
    if isinstance(result, dict):
        return any(nan_in(item, depth + 1) for item in result.values())
    return False


def names_the_argument(name, argument, value, message):
    """True if ``message`` names ``argument`` (or, for a file, the file it was given)."""
    words = [argument] + ([NAMED_AS[name, argument]] if (name, argument) in NAMED_AS else [])
    if isinstance(value, Path):
        words.append(value.name)
    return any(re.search(rf"\b{re.escape(word)}\b", message) for word in words)


def assert_named_error_or_clean(name, argument, value):
    """The contract: a result without NaN, or a ValueError that names the argument."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = call(name, **{argument: value})
    except ValueError as error:
        assert names_the_argument(name, argument, value, str(error)), (
            f"{name}({argument}={value!r}): {error}"
        )
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
    for value in pool(name, argument).values():
        assert_named_error_or_clean(name, argument, value)


# Every argument registered with one number (counts too, but not rng) meets any real number.
NUMERIC = [
    (name, argument)
    for name, argument in ARGUMENTS
    if is_numbers(REGISTER[name][argument]) and np.ndim(REGISTER[name][argument]) == 0
    and argument != "rng"
]


# Magnitudes a derandomized run may never draw: hypothesis's random examples found a hang
# (10^15 draws), a wrong number (-6.5e78 at t = -1e30) and numpy warnings at 1e10 - 1e30.
FAR = [sign * 10.0**k for k in (10, 15, 30, 100, 160, 300) for sign in (1, -1)]


# Counts valid up to a large bound that cost time in proportion: a random example between the
# cap and the bound runs for real (rl.train: 0.14 ms a step, 14 s at 10^5 steps, 23 min at its
# bound 10^7) along the same path as a small count, and is not drawn; above the bound it is.
WORK_CAPS = {("goodhart.rl.train", "steps"): (1e3, 1e7)}


@pytest.mark.parametrize(("name", "argument"), NUMERIC)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_any_real_number_gives_a_named_value_error_or_a_clean_result(name, argument, value):
    cap, bound = WORK_CAPS.get((name, argument), (np.inf, np.inf))
    assume(not cap < value <= bound)
    assert_named_error_or_clean(name, argument, value)


@pytest.mark.parametrize(("name", "argument"), NUMERIC)
def test_far_magnitudes_give_a_named_value_error_or_a_clean_result(name, argument):
    for value in FAR:
        assert_named_error_or_clean(name, argument, value)


def test_the_version_is_the_same_in_the_package_its_metadata_and_the_citation():
    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    citation = re.search(r"^version: (\S+)$", (root / "CITATION.cff").read_text(), re.M)[1]
    assert goodhart.__version__ == project == citation
