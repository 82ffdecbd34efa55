"""Every result of the book for one pair of laws: what it says for this utility and error.

``report(Proxy(utility=v, error=x))`` (or ``Proxy(...).report()``) computes, for independent
``V ~ v`` and ``X ~ x``, what each result of the paper says for that pair, each computed, not
looked up:

* the tail class of each law (``goodhart.tails.classify``: heavy or light, subexponential,
  the MGF radius, the decay rate far out);
* Theorem 1 and Corollary 1: whether the proxy can be raised arbitrarily at vanishing KL,
  with an explicit witness (Theorem 1's two-block reweighting of ``U`` at the threshold that
  buys a given gain in ``E[U]`` most cheaply) and the utility it leaves;
* Theorem 2: the KL frontier of the utility at a few budgets;
* Theorem 4: the KL-penalized optimum at each ``beta`` of a sweep, or why none exists;
* Theorems 5 and 6: ``E[V | U >= t]`` along thresholds, which hypotheses hold, and the limit
  they predict;
* best-of-N to ``N = 10^12``, and where utility peaks.

The result renders as text lines of at most 78 characters (``.text()``, the command line
``goodhart-report``) and as Markdown tables with links to the chapters (in a notebook), and
draws its figure with ``.figure()``. What it cannot tell: dependence between error and
utility (every result here assumes independence), and what happens between the largest
threshold or ``N`` computed and the limit.
"""

from __future__ import annotations

import argparse
import ast
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
from scipy import stats

from goodhart import _checks, tails, tilting
from goodhart.best_of_n import utility_peak
from goodhart.divergences import bernoulli_kl
from goodhart.proxy import Proxy

BUDGETS = (0.01, 0.1, 1.0)
BETAS = (10.0, 1.0, 0.3, 0.1)
N_GRID = np.unique(np.round(np.logspace(0, 12, 25)))
LEVELS = 10.0 ** -np.arange(2, 13)  # the thresholds: P(U >= t) = 1e-2, ..., 1e-12
WIDTH = 78


@dataclass(frozen=True)
class Verdict:
    """What one result of the paper says for the pair, in words, and where the book shows it."""

    result: str
    holds: bool
    text: str
    chapter: str


@dataclass(frozen=True)
class Witness:
    """Theorem 1's two-block reweighting of ``U`` that raises ``E[U]`` by ``gain``."""

    threshold: np.ndarray  # t, one per level P(U >= t) in LEVELS
    mass: np.ndarray  # P(U >= t) under the reweighted law
    kl: np.ndarray  # its KL to the base law, nats
    proxy: np.ndarray  # E[U] under it
    utility: np.ndarray  # E[V] under it
    gain: float


@dataclass(frozen=True)
class Optimum:
    """The KL-penalized optimum at one ``beta``; ``reason`` says why there is none."""

    beta: float
    utility: float
    error: float
    kl: float
    reason: str = ""


@dataclass(frozen=True)
class Report:
    """Every verdict of the book for one pair, with the numbers behind each."""

    proxy: Proxy
    utility_tail: tails.TailClass
    error_tail: tails.TailClass
    witness: Witness | None
    budgets: np.ndarray
    frontier: np.ndarray
    optima: tuple
    thresholds: np.ndarray
    conditional_mean: np.ndarray
    n: np.ndarray
    best: object  # BestOfN
    peak: object  # Peak
    verdicts: tuple

    def text(self):
        """The report as lines of at most 78 characters, for a terminal."""
        lines = [f"{self.proxy!r}", ""]
        lines += _wrap("Tails: " + _tail_words("utility V", self.utility_tail)
                       + "; " + _tail_words("error X", self.error_tail) + ".")
        for verdict in self.verdicts:
            lines.append("")
            lines += _wrap(f"{verdict.result}: {verdict.text} [chapter: {verdict.chapter}]")
        lines += ["", "Theorem 2, the KL frontier of the utility:"]
        lines += [f"  KL {d:>5g} nats: E[V] <= {f:.6g}" for d, f in zip(self.budgets, self.frontier,
                                                                         strict=True)]
        lines += ["", "Theorem 4, the optimum of E[U] - beta KL:"]
        for o in self.optima:
            if o.reason:
                lines += _wrap(f"  beta {o.beta:g}: none ({o.reason})", indent="    ")
            else:
                lines.append(f"  beta {o.beta:g}: E[V] {o.utility:.6g}, E[X] {o.error:.6g}, "
                             f"KL {o.kl:.4g}")
        lines += ["", "Theorems 5 and 6, E[V | U >= t]:"]
        scale = max(1.0, abs(self.proxy.mean))
        lines += [f"  P(U >= t) = {p:.0e}: t = {t:.6g}, E[V | U >= t] = {_number(c, scale)}"
                  for p, t, c in zip(LEVELS, self.thresholds, self.conditional_mean,
                                     strict=True)]
        lines += ["", "Best of N draws:"]
        for k in (0, len(self.n) // 3, 2 * len(self.n) // 3, len(self.n) - 1):
            lines.append(f"  N = {self.n[k]:.0e}: E[V] {self.best.utility[k]:.6g}, "
                         f"E[X] {self.best.error[k]:.6g}")
        peak = ("utility still rising at N = 1e12" if self.peak.n is None
                else f"utility peaks at N = {self.peak.n:.4g}, E[V] = {self.peak.utility:.6g}")
        lines += _wrap("  " + peak, indent="  ")
        lines += [""] + _wrap(
            "Not told: dependence between error and utility (all of this assumes they are "
            "independent), and anything beyond the largest threshold or N computed."
        )
        return "\n".join(lines)

    def _repr_markdown_(self):
        rows = ["| result | verdict | chapter |", "|:---|:---|:---|"]
        rows += [f"| {v.result} | {v.text} | {{doc}}`{v.chapter}` |" for v in self.verdicts]
        return "\n".join(rows)

    def __repr__(self):
        return f"<Report for {self.proxy!r}: {len(self.verdicts)} verdicts>"

    def figure(self):
        """Two panels: ``E[V | U >= t]`` against ``P(U >= t)``, and best-of-N utility and error."""
        from matplotlib.figure import Figure

        from goodhart.plotting import STYLES, figsize

        fig = Figure(figsize=figsize(2), layout="constrained")
        left, right = fig.subplots(1, 2)
        left.plot(LEVELS, self.conditional_mean, **STYLES["utility"], label="$E[V \\mid U \\geq t]$")
        left.axhline(self.proxy.mean, **{**STYLES["base"], "marker": ""}, label="$E[V]$")
        left.set(xscale="log", xlabel="$P(U \\geq t)$", ylabel="utility")
        left.invert_xaxis()
        left.legend()
        right.plot(self.n, self.best.utility, **STYLES["utility"], label="utility $V$")
        if np.all(np.isfinite(self.best.error)):
            right.plot(self.n, self.best.error, **STYLES["error"], label="error $X$")
        right.set(xscale="log", xlabel="$N$", ylabel="at the best of $N$")
        right.legend()
        return fig


def report(proxy, *, budgets=BUDGETS, betas=BETAS):
    """What every result of the book says for the pair of ``proxy``: see the module docstring.

    Parameters
    ----------
    proxy : Proxy
    budgets : sequence of float
        KL budgets (nats) for Theorem 2's frontier.
    betas : sequence of float
        KL coefficients for Theorem 4's optimum.

    Returns
    -------
    Report

    Examples
    --------
    >>> from scipy import stats
    >>> r = report(Proxy(utility=stats.norm(0, 2), error=stats.t(3)))
    >>> [v.holds for v in r.verdicts][:2]  # Theorem 1 and Corollary 1 apply
    [True, True]
    """
    if not isinstance(proxy, Proxy):
        raise ValueError(f"proxy must be a goodhart.Proxy, got {type(proxy).__name__}")
    budgets = _checks.real(budgets, "budgets", low=0.0, low_open=True).reshape(-1)
    betas = _checks.real(betas, "betas", low=0.0, low_open=True).reshape(-1)
    v, x = proxy.utility, proxy.error
    utility_tail, error_tail = tails.classify(v), tails.classify(x)
    thresholds = proxy.isf(LEVELS)
    conditional = proxy.conditional_mean(thresholds)
    witness = _witness(proxy, thresholds)
    frontier = np.asarray(tilting.kl_frontier(v, budgets), dtype=float).reshape(-1)
    optima = tuple(_optimum(proxy, b) for b in betas)
    best = proxy.best_of_n(N_GRID)
    peak = utility_peak(proxy)
    verdicts = _verdicts(proxy, utility_tail, error_tail, witness, conditional, peak)
    return Report(
        proxy=proxy, utility_tail=utility_tail, error_tail=error_tail, witness=witness,
        budgets=budgets, frontier=frontier, optima=optima, thresholds=thresholds,
        conditional_mean=conditional, n=N_GRID, best=best, peak=peak, verdicts=verdicts,
    )


def _witness(proxy, thresholds):
    """Theorem 1's construction on ``U``: the mass above each threshold that adds ``gain``."""
    if not np.isfinite(proxy.error.mean()):
        return None
    log_tail = proxy.logsf(thresholds)
    p = np.exp(log_tail)
    utility_tail = proxy.conditional_mean(thresholds)
    error_tail = proxy.conditional_error(thresholds)
    mean_v, mean_x = proxy.mean, float(proxy.error.mean())
    # E[. | U < t] from E[.] = (1 - p) E[. | U < t] + p E[. | U >= t]
    utility_body = (mean_v - p * utility_tail) / (1 - p)
    error_body = (mean_x - p * error_tail) / (1 - p)
    gain = 10 * float(proxy.isf(0.25) - proxy.isf(0.75))  # ten interquartile ranges of U
    target = mean_v + mean_x + gain
    tail, body = utility_tail + error_tail, utility_body + error_body
    mass = (target - body) / (tail - body)
    reachable = (mass > p) & (mass < 1)
    mass = np.where(reachable, mass, np.nan)
    kl = np.where(reachable, bernoulli_kl(np.where(reachable, mass, 0.5), log_tail), np.nan)
    return Witness(
        threshold=thresholds, mass=mass, kl=kl, proxy=np.full(mass.shape, target),
        utility=(1 - mass) * utility_body + mass * utility_tail, gain=gain,
    )


def _optimum(proxy, beta):
    try:
        o = proxy.penalized_optimum(float(beta))
    except ValueError as error:
        return Optimum(beta=float(beta), utility=np.nan, error=np.nan, kl=np.nan,
                       reason=str(error).removeprefix("no optimum: "))
    return Optimum(beta=float(beta), utility=float(o.utility), error=float(o.error),
                   kl=float(o.kl))


def _verdicts(proxy, utility_tail, error_tail, witness, conditional, peak):
    heavy_u = utility_tail.heavy or error_tail.heavy
    verdicts = []
    if witness is None:
        text = ("E[X] is infinite, so E[U] is already infinite under the base law: any proxy "
                "level is exceeded at no KL")
        verdicts.append(Verdict("Theorem 1", True, text, "theorem1"))
    else:
        k = int(np.nanargmin(witness.kl)) if np.any(np.isfinite(witness.kl)) else None
        if heavy_u and k is not None:
            text = (f"U is heavy-tailed, so E[U] can be raised by any amount at any small KL; "
                    f"a gain of {witness.gain:.4g} costs {witness.kl[k]:.3g} nats at t = "
                    f"{witness.threshold[k]:.4g} (mass {witness.mass[k]:.3g}), and the cost "
                    "falls further out")
        else:
            cheapest = "" if k is None else f" (cheapest here: {witness.kl[k]:.3g} nats)"
            text = (f"U is light-tailed: raising E[U] by {witness.gain:.4g} has a KL cost "
                    f"bounded below{cheapest}")
        verdicts.append(Verdict("Theorem 1", heavy_u, text, "theorem1"))
    corollary = error_tail.heavy and not utility_tail.heavy
    if corollary:
        k = None if witness is None else int(np.nanargmin(witness.kl))
        left = "" if k is None else f" (E[V] = {witness.utility[k]:.4g} at the witness)"
        text = ("heavy-tailed error, light-tailed utility: policies with E[U] -> inf and "
                f"KL -> 0 exist, and their E[V] has limsup at most E[V] = {proxy.mean:.4g}"
                f"{left}: catastrophic Goodhart")
    else:
        text = ("does not apply: it needs heavy-tailed error and light-tailed utility "
                f"(here the error is {error_tail.label}, the utility {utility_tail.label})")
    verdicts.append(Verdict("Corollary 1", corollary, text, "corollary"))
    if utility_tail.heavy:
        text = "V is heavy-tailed: no KL budget bounds E[V] (the frontier is infinite)"
    else:
        text = "V is light-tailed: each KL budget bounds E[V], and E[V] -> its mean as KL -> 0"
    verdicts.append(Verdict("Theorem 2", not utility_tail.heavy, text, "theorem2"))
    radius = min(utility_tail.mgf_radius, error_tail.mgf_radius)
    light_everywhere = np.isinf(radius)
    if light_everywhere:
        text = "both MGFs are finite everywhere: E[V] at the optimum -> inf as beta -> 0"
    elif radius == 0:
        text = ("a law is heavy-tailed, so E exp(U / beta) is infinite and no optimum exists "
                "for any beta: the theorem does not apply")
    else:
        text = (f"an MGF is infinite beyond {radius:.4g}, so no optimum exists for beta <= "
                f"{1 / radius:.4g}, and the theorem's limit beta -> 0 is out of reach")
    verdicts.append(Verdict("Theorem 4", light_everywhere, text, "theorem4"))
    theorem5 = error_tail.subexponential and _decays_faster(proxy, p=1.01)
    hypotheses = (f"X subexponential: {'yes' if error_tail.subexponential else 'no'}; "
                  f"t^p Fbar_V / Fbar_X -> 0 for p > 1: "
                  f"{'yes' if _decays_faster(proxy, p=1.01) else 'no'}")
    if theorem5:
        last = _number(conditional[-1], max(1.0, abs(proxy.mean)))
        text = (f"{hypotheses}: E[V | U >= t] -> E[V] = {proxy.mean:.4g} "
                f"(at P(U >= t) = 1e-12: {last})")
    else:
        text = f"{hypotheses}: the theorem does not apply"
    verdicts.append(Verdict("Theorem 5", theorem5, text, "theorem5"))
    theorem6 = _steps_vanish(proxy.error) and np.isinf(proxy.utility.support()[1])
    if theorem6:
        text = (f"Fbar_X(t+1) / Fbar_X(t) -> 0 and V unbounded: E[V | U >= t] -> inf "
                f"({conditional[-1]:.4g} at P(U >= t) = 1e-12)")
    else:
        text = "its tail condition on X (or an unbounded V) fails: the theorem does not apply"
    verdicts.append(Verdict("Theorem 6", theorem6, text, "theorem6"))
    if peak.n is None:
        text = f"utility at the best of N still rises at N = 1e12 ({peak.utility:.4g})"
    else:
        text = f"utility peaks at N = {peak.n:.4g} (E[V] = {peak.utility:.4g}), then falls"
    verdicts.append(Verdict("Best of N", peak.n is None, text, "best_of_n"))
    return tuple(verdicts)


def _decays_faster(proxy, p):
    """Evidence for ``t^p Fbar_V(t) / Fbar_X(t) -> 0``: it falls, and is below 1e-3, far out."""
    x = proxy.error
    t = np.asarray(x.isf(np.array([1e-6, 1e-9, 1e-12])), dtype=float)
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        return False
    with np.errstate(divide="ignore"):
        log_ratio = p * np.log(t) + tails.log_sf(proxy.utility, t) - tails.log_sf(x, t)
    return bool(np.all(np.diff(log_ratio) < 0) and log_ratio[-1] < np.log(1e-3))


def _steps_vanish(x):
    """Evidence for ``Fbar_X(t + 1) / Fbar_X(t) -> 0``: a bounded support, or a tail lighter
    than every exponential (an infinite MGF radius) whose unit steps shrink far out."""
    if np.isfinite(x.support()[1]):
        return True
    if np.isfinite(tails.mgf_radius(x)):
        return False
    t = np.asarray(x.isf(np.array([1e-6, 1e-12])), dtype=float)
    steps = tails.log_sf(x, t + 1) - tails.log_sf(x, t)
    return bool(steps[1] < steps[0])


def _number(value, scale):
    """``value`` to 6 significant digits, or a bound where it is 0 up to rounding."""
    if abs(value) < 1e-12 * scale:
        return f"0 (|.| < {1e-12 * scale:.0e})"
    return f"{value:.6g}"


def _tail_words(name, tail):
    radius = "infinite" if np.isinf(tail.mgf_radius) else f"{tail.mgf_radius:.4g}"
    return (f"{name} ({tail.family}) {tail.label}, MGF radius {radius}, decay rate "
            f"{tail.decay_rate:.3g} at x = {tail.x:.4g}")


def _wrap(text, indent=""):
    return textwrap.wrap(text, WIDTH, subsequent_indent=indent, break_on_hyphens=False)


# -- the command line ------------------------------------------------------------------


def parse_law(spec, name):
    """A frozen scipy law from text such as ``"t(3)"`` or ``"norm(loc=1, scale=2)"``.

    Only a scipy.stats continuous family called with numbers is accepted (parsed with
    ``ast``, never evaluated).

    Examples
    --------
    >>> parse_law("t(3, scale=2)", "error").std() > 0
    True
    """
    try:
        tree = ast.parse(spec.strip(), mode="eval").body
    except SyntaxError:
        raise ValueError(f"{name}: {spec!r} is not of the form family(numbers)") from None
    if isinstance(tree, ast.Name):
        tree = ast.Call(func=tree, args=[], keywords=[])
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)):
        raise ValueError(f"{name}: {spec!r} is not of the form family(numbers)")
    family = getattr(stats, tree.func.id, None)
    if not isinstance(family, stats.rv_continuous):
        raise ValueError(f"{name}: {tree.func.id!r} is not a continuous scipy.stats family")

    def number(node):
        value = ast.literal_eval(node)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name}: {ast.unparse(node)} is not a number")
        return float(value)

    try:
        args = [number(a) for a in tree.args]
        kwargs = {k.arg: number(k.value) for k in tree.keywords}
        law = family(*args, **kwargs)
        law.mean()  # scipy checks the parameters only when the law is used
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name}: {spec}: {error}") from None
    if np.any(np.isnan(law.support())):  # scipy's mark of parameters it refuses
        raise ValueError(f"{name}: {spec}: parameters outside the family's domain")
    return law


def main(argv=None):
    """``goodhart-report --utility "norm(0, 2)" --error "t(3)" [--out figure.png]``."""
    parser = argparse.ArgumentParser(
        prog="goodhart-report",
        description="What each result of the catastrophic-Goodhart book says for one pair of "
        "independent laws: utility V and error X, proxy U = X + V.",
    )
    parser.add_argument("--utility", required=True, help='the law of V, e.g. "norm(0, 2)"')
    parser.add_argument("--error", required=True, help='the law of X, e.g. "t(3)"')
    parser.add_argument("--out", help="write the report's figure there (PNG)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 0 if exit_.code == 0 else 1
    try:
        proxy = Proxy(utility=parse_law(args.utility, "utility"),
                      error=parse_law(args.error, "error"))
        result = report(proxy)
        if args.out:
            from goodhart.cli import output_path, write_png

            write_png(result.figure(), output_path(args.out, None))
    except (ValueError, ArithmeticError, OSError) as error:
        print(f"goodhart-report: error: {error}", file=sys.stderr)
        return 1
    print(result.text())
    return 0
