"""Every result of the book for one pair of laws: what each says for this utility and error.

``report(Proxy(utility=v, error=x))`` (or ``Proxy(...).report()``) computes, for independent
``V ~ v`` and ``X ~ x`` with proxy ``U = X + V``, what each result of the paper says for that
pair, each computed, not looked up:

* the tail class of each law (:func:`goodhart.tails.classify`: heavy or light,
  subexponential, the MGF radius), with the decay rate ``-log Fbar(x) / x`` at two depths;
* Theorem 1 and Corollary 1: whether ``E[U]`` can be raised arbitrarily at vanishing KL,
  with explicit witnesses: Theorem 1's two-block reweighting of ``U`` (the law of ``U`` kept
  inside ``{U < t}`` and ``{U >= t}``, the mass of the second set to ``m``), one per
  threshold, each raising ``E[U]`` by the same gain. Matching the mass to the gain gives
  ``m = p + gain (1 - p) / (E[U | U >= t] - E[U])`` with ``p = P(U >= t)``, a KL of
  ``D(Bern(m) || Bern(p))``, and a utility ``E[V] + gain (E[V | U >= t] - E[V]) /
  (E[U | U >= t] - E[U])``;
* Theorem 2: the KL frontier of the utility at a few budgets;
* Theorem 4: the KL-penalized optimum at each ``beta`` of a sweep, or why there is none;
* Theorems 5 and 6: ``E[V | U >= t]`` along thresholds, which hypotheses hold (with the
  numbers that show it), and the limit they predict when they do;
* best-of-N to ``N = 10^12``, and where utility peaks.

Each verdict names the chapter that explains it. The result renders as lines of at most 78
characters (:meth:`Report.text`, the command line ``goodhart-report``), as a table with links
to the chapters (:meth:`Report.table`, and in a notebook), and as a figure
(:meth:`Report.figure`). Hypotheses about limits are decided from the family of each law
where that is exact (the tail class) and otherwise from the numbers shown beside them, taken
at the quantiles ``1e-6`` to ``1e-12``: evidence, not proof. What the report cannot tell:
dependence between error and utility (everything here assumes independence), and what
happens between the largest threshold or ``N`` computed and the limit.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import sys
import textwrap
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from goodhart import _checks, tails, tilting
from goodhart.best_of_n import utility_peak
from goodhart.cli import output_path, quiet_when_the_reader_leaves, write_png
from goodhart.divergences import bernoulli_kl
from goodhart.proxy import Proxy

BUDGETS = (0.01, 0.1, 1.0)
BETAS = (10.0, 1.0, 0.3, 0.1)
LEVELS = 10.0 ** -np.arange(2, 13)  # thresholds t with P(U >= t) = 1e-2, 1e-3, ..., 1e-12
WITNESS_LEVELS = LEVELS[::2]  # Theorem 1's witnesses at P(U >= t) = 1e-2, 1e-4, ..., 1e-12
N_GRID = np.round(10.0 ** np.arange(0, 12.01, 0.25))  # best-of-N at N = 1 to 1e12, 4 a decade
N_SHOWN = 10.0 ** np.arange(0, 13, 3)  # of which the text shows N = 1, 1e3, ..., 1e12
GAIN = 10  # the witnesses raise E[U] by GAIN interquartile ranges of V
WIDTH = 78
# Theorem 5's tail condition t^p Fbar_V / Fbar_X -> 0 for some p > 1 is read off the local
# exponent k of Fbar_V / Fbar_X ~ t^-k far out: it holds when k exceeds 1 by this margin.
MARGIN = 0.05
# Best-of-N utilities are good to about 1e-8 of the utility's scale: smaller ones are bounds.
BEST_ACCURACY = 1e-7
MAX_SPEC = 200  # characters of a law on the command line: refused beyond, before parsing


@dataclass(frozen=True)
class Hypothesis:
    """One hypothesis of a result, whether it holds for the pair, and the evidence."""

    text: str
    holds: bool
    evidence: str


@dataclass(frozen=True)
class Verdict:
    """What one result of the book says for the pair, and the chapter that explains it.

    ``applies`` is True when every hypothesis holds (vacuously for the tail classes and
    best-of-N, which are computed for every pair); ``conclusion`` says in one sentence what
    the result then gives, or what the computation shows where it does not apply; the
    evidence is in each hypothesis, and for the tail classes in ``evidence``.
    """

    result: str
    chapter: str
    hypotheses: tuple
    conclusion: str
    evidence: str = ""

    @property
    def applies(self):
        """Whether every hypothesis holds."""
        return all(h.holds for h in self.hypotheses)

    @property
    def status(self):
        """``"applies"``, ``"does not apply"`` or ``"computed"`` (no hypotheses)."""
        if not self.hypotheses:
            return "computed"
        return "applies" if self.applies else "does not apply"


@dataclass(frozen=True)
class Witness:
    """Theorem 1's two-block reweightings of ``U``, each raising ``E[U]`` by ``gain``.

    Arrays have one entry per threshold; ``mass``, ``kl`` and ``utility`` are NaN where no
    mass below 1 reaches the gain (``E[U | U >= t] - E[U] <= gain``). ``least_kl`` is the
    least KL of any law of ``(X, V)`` with that ``E[U]``: 0 for a heavy-tailed ``U`` (an
    infimum, Theorem 1), otherwise the KL of the exponential tilt of ``U`` with that mean
    (Theorem 2 applied to ``U``), NaN if no tilt with ``beta`` in ``[1e-2, 1e8]`` reaches it.
    """

    threshold: np.ndarray  # t
    log_tail: np.ndarray  # log P(U >= t) under the base law
    mass: np.ndarray  # P(U >= t) under the witness
    kl: np.ndarray  # D(witness || base), nats
    proxy: float  # E[U] under every witness: E[U] + gain
    utility: np.ndarray  # E[V] under the witness
    gain: float
    least_kl: float  # the least KL of any law with this E[U]: 0 (an infimum) for a heavy U


@dataclass(frozen=True)
class Optimum:
    """The KL-penalized optimum at one ``beta``; ``reason`` says why there is none."""

    beta: float
    utility: float
    error: float
    proxy: float
    kl: float
    reason: str = ""


@dataclass(frozen=True)
class Report:
    """Every verdict of the book for one pair, with the numbers behind each.

    Attributes
    ----------
    proxy : goodhart.Proxy
    utility_tail, error_tail : goodhart.tails.TailClass
    witness : Witness or None
        None where ``E[X] = +inf`` (``E[U]`` is infinite already).
    budgets, frontier : ndarray
        Theorem 2: ``sup E_P[V]`` over ``D(P || Q) <= d``, one per budget ``d``.
    optima : tuple of Optimum
        Theorem 4, one per ``beta``.
    levels, thresholds, conditional_mean : ndarray
        ``P(U >= t)``, ``t`` and ``E[V | U >= t]`` (Theorems 5 and 6).
    best : goodhart.proxy.BestOfN
        Best-of-N at ``N_GRID`` (four values a decade, ``N_SHOWN`` among them).
    peak : goodhart.best_of_n.Peak
    verdicts : tuple of Verdict
    """

    proxy: Proxy
    utility_tail: tails.TailClass
    error_tail: tails.TailClass
    witness: Witness | None
    budgets: np.ndarray
    frontier: np.ndarray
    optima: tuple
    levels: np.ndarray
    thresholds: np.ndarray
    conditional_mean: np.ndarray
    best: object
    peak: object
    verdicts: tuple

    def verdict(self, result):
        """The verdict of ``result`` (``"Theorem 5"``, ``"Best of N"``, ...)."""
        for v in self.verdicts:
            if v.result == result:
                return v
        raise ValueError(f"result must be one of {', '.join(v.result for v in self.verdicts)}")

    def text(self):
        """The report as lines of at most 78 characters, for a terminal."""
        p, scale = self.proxy, _scale(self.proxy)
        lines = _wrap(f"What the book's results say for utility V ~ {_law(p.utility)} and "
                      f"error X ~ {_law(p.error)}, independent, proxy U = X + V.")
        for v in self.verdicts:
            lines += ["", f"{v.result} ({v.status}; chapter {v.chapter})"]
            for h in v.hypotheses:
                lines += _wrap(f"[{'yes' if h.holds else 'no'}] {h.text} ({h.evidence})",
                               "  ", "      ")
            lines += _wrap(v.conclusion, "  ", "  ")
            lines += _wrap(v.evidence, "  ", "  ") if v.evidence else []
        lines += ["", "The numbers behind the verdicts."]
        if self.witness is not None:
            w = self.witness
            lines += ["", *_wrap(f"Theorem 1's witnesses, each raising E[U] by {w.gain:.4g} "
                                 f"(ten interquartile ranges of V):")]
            lines.append(f"  {'P(U >= t)':>9}  {'t':>9}  {'mass':>9}  {'KL (nats)':>9}  "
                         f"{'gain in E[V]':>15}")
            for lvl, t, m, k, u in zip(WITNESS_LEVELS, w.threshold, w.mass, w.kl, w.utility,
                                       strict=True):
                row = (f"{m:9.3g}  {k:9.3g}  {_number(u - p.mean, _floor(p)):>15}"
                       if np.isfinite(m) else "not reached: E[U | U >= t] too low")
                lines.append(f"  {lvl:9.0e}  {t:9.4g}  {row}")
        if any(not o.reason for o in self.optima):
            lines += ["", "Theorem 4, the optimum of E[U] - beta KL:",
                      f"  {'beta':>6}  {'E[V]':>10}  {'E[X]':>10}  {'KL (nats)':>10}"]
            lines += [f"  {o.beta:6g}  " + (f"{o.utility:10.4g}  {o.error:10.4g}  {o.kl:10.4g}"
                                            if not o.reason else "none") for o in self.optima]
        lines += ["", "Theorems 5 and 6, selection on the proxy:",
                  f"  {'P(U >= t)':>9}  {'t':>9}  {'E[V | U >= t]':>15}  {'minus E[V]':>15}"]
        lines += [f"  {lvl:9.0e}  {t:9.4g}  {c:15.4g}  {_number(c - p.mean, _floor(p)):>15}"
                  for lvl, t, c in zip(self.levels, self.thresholds, self.conditional_mean,
                                       strict=True)]
        b, shown = self.best, np.isin(self.best.n, N_SHOWN)
        lines += ["", "Best of N draws (the draw of largest U among N):",
                  f"  {'N':>7}  {'E[V]':>15}  {'E[X]':>10}  {'E[U]':>10}"]
        lines += [f"  {n:7.0e}  {_number(u, BEST_ACCURACY * scale):>15}  {x:10.4g}  {y:10.4g}"
                  for n, u, x, y in zip(b.n[shown], b.utility[shown], b.error[shown],
                                        b.proxy[shown], strict=True)]
        lines += ["", *_wrap("Not told: dependence between error and utility (all of this "
                             "assumes they are independent), and what happens beyond the "
                             "largest threshold or N computed: the limits above rest on the "
                             "laws' families and on the evidence shown.")]
        return "\n".join(lines)

    def table(self, caption=None, name=None, link="{}.ipynb"):
        """The verdicts, one row a result, as a :func:`goodhart.plotting.table`.

        Parameters
        ----------
        caption, name : str, optional
            As for :func:`goodhart.plotting.table` (a captioned table is numbered).
        link : str
            The link target of a chapter, ``link.format(chapter)``: the default suits a
            notebook in the book's ``book/`` folder, and the book itself.
        """
        from goodhart.plotting import table

        rows = [[f"[{v.result}]({link.format(v.chapter)})", v.status,
                 v.conclusion + _failed(v)] for v in self.verdicts]
        return table(rows, headers=["result", "status", "for this pair"], caption=caption,
                     name=name)

    def evidence_table(self, caption=None, name=None):
        """Each hypothesis of each result, whether it holds, and the numbers that show it."""
        from goodhart.plotting import table

        rows = []
        for v in self.verdicts:
            if v.evidence:
                rows.append([v.result, "tail classes", None, v.evidence])
            rows += [[v.result, h.text, "yes" if h.holds else "no", h.evidence]
                     for h in v.hypotheses]
        return table(rows, headers=["result", "hypothesis", "holds", "evidence"],
                     caption=caption, name=name)

    def _repr_markdown_(self):
        return self.table().to_markdown() + "\n\n" + self.evidence_table().to_markdown()

    def __repr__(self):
        return (f"<Report for {self.proxy!r}: "
                + ", ".join(f"{v.result} {v.status}" for v in self.verdicts[1:-1]) + ">")

    def figure(self, figure=None):
        """Three panels against the strength of optimization: Theorem 1's witnesses,
        ``E[V | U >= t]`` (Theorems 5 and 6), and utility at the best of ``N``.

        Parameters
        ----------
        figure : matplotlib.figure.Figure, optional
            An empty figure to draw into (``plt.figure(figsize=figsize(3))`` in a notebook,
            then ``plt.show()``); by default a new ``Figure`` not known to pyplot.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from matplotlib.figure import Figure

        from goodhart.plotting import STYLES, figsize, style

        if figure is None:
            figure = Figure(figsize=figsize(3), layout="constrained")
        elif not isinstance(figure, Figure) or figure.axes:
            raise ValueError(f"figure must be an empty matplotlib Figure, got {figure!r}")
        kl, conditional, best = figure.subplots(1, 3)
        w = self.witness
        if w is not None:
            if np.any(np.isfinite(w.kl)):
                kl.plot(WITNESS_LEVELS, w.kl, **style("kl", markevery=None),
                        label="two-block witness")
            if w.least_kl > 0:
                kl.axhline(w.least_kl, **style("base", marker=""), label="least, any law")
                kl.legend(loc="best")
            kl.set_title(f"Theorem 1: E[U] + {w.gain:.3g}")
        kl.set(xscale="log", yscale="log", xlabel="$P(U \\geq t)$",
               ylabel="KL of the witness (nats)",
               xlim=(3 * WITNESS_LEVELS[0], WITNESS_LEVELS[-1] / 3))
        _gain_panel(conditional, self.levels, self.conditional_mean, self.proxy.mean,
                    ("$E[V \\mid U \\geq t] - E[V]$", "$E[V \\mid U \\geq t]$"),
                    style("utility", markevery=None))
        conditional.set(xscale="log", xlabel="$P(U \\geq t)$", title="Theorems 5 and 6",
                        xlim=(3 * self.levels[0], self.levels[-1] / 3))
        many = self.best.n > 1
        _gain_panel(best, self.best.n[many], self.best.utility[many], self.proxy.mean,
                    ("$E[V]$ gained, best of $N$", "$E[V]$ at the best of $N$"),
                    STYLES["utility"])
        title = "Best of $N$"
        if self.peak.n is not None:
            shift = self.proxy.mean if best.get_yscale() == "log" else 0.0
            best.plot([self.peak.n], [self.peak.utility - shift],
                      **style("base", linestyle="", markevery=None, markersize=10,
                              markeredgewidth=2, zorder=3))
            title += f": peak at {self.peak.n:.3g}"
        best.set(xscale="log", xlabel="$N$", title=title)
        for ax in (kl, conditional, best):
            if ax.get_yscale() == "log":
                plain = _plain_log_formatter()
                ax.yaxis.set_major_formatter(plain(labelOnlyBase=False))
                ax.yaxis.set_minor_formatter(plain(labelOnlyBase=False,
                                                   minor_thresholds=(1, 0.4)))
        return figure


def report(proxy, *, budgets=BUDGETS, betas=BETAS):
    """What every result of the book says for the pair of ``proxy``: see the module docstring.

    Parameters
    ----------
    proxy : goodhart.proxy.Proxy
        Independent utility and error; the error's mean must be defined (finite or
        ``+inf``), as best-of-N needs it.
    budgets : sequence of float
        KL budgets (nats, > 0) for Theorem 2's frontier, at least one; reported in
        increasing order.
    betas : sequence of float
        KL coefficients (> 0) for Theorem 4's optimum, at least one; reported in
        decreasing order (increasing optimization).

    Returns
    -------
    Report

    Raises
    ------
    ValueError
        For a bad argument, a law whose right tail goodhart cannot classify, or an error
        whose mean scipy cannot give (Cauchy).

    Examples
    --------
    >>> from scipy import optimize, stats
    >>> r = report(Proxy(utility=stats.norm(0, 2), error=stats.t(3)))
    >>> r.verdict("Corollary 1").status, r.verdict("Theorem 4").status
    ('applies', 'does not apply')
    >>> round(r.peak.n)  # utility at the best of N peaks at N = 54
    54
    """
    if not isinstance(proxy, Proxy):
        raise ValueError(f"proxy must be a goodhart.Proxy, got {type(proxy).__name__}")
    budgets = np.unique(_checks.real(budgets, "budgets", low=0.0, low_open=True))
    betas = np.unique(_checks.real(betas, "betas", low=0.0, low_open=True))[::-1]
    for sweep, label in ((budgets, "budgets"), (betas, "betas")):
        if sweep.size == 0:
            raise ValueError(f"{label} must hold at least one value")
    v, x = proxy.utility, proxy.error
    utility_tail, error_tail = tails.classify(v), tails.classify(x)  # refuses unknown tails
    if np.isnan(x.mean()):
        raise ValueError(f"error: {_law(x)} has no mean (scipy gives nan); the report needs "
                         "E[X] finite or +inf")
    thresholds = proxy.isf(LEVELS)
    above = proxy.tail(thresholds)
    conditional = above.utility
    witness = _witness(proxy, thresholds[::2], above.log_tail[::2], conditional[::2])
    frontier = np.asarray(tilting.kl_frontier(v, budgets), dtype=float).reshape(-1)
    optima = tuple(_optimum(proxy, b) for b in betas)
    best = proxy.best_of_n(N_GRID)
    peak = utility_peak(proxy)
    numbers = Report(
        proxy=proxy, utility_tail=utility_tail, error_tail=error_tail, witness=witness,
        budgets=budgets, frontier=frontier, optima=optima, levels=LEVELS,
        thresholds=thresholds, conditional_mean=conditional, best=best, peak=peak, verdicts=(),
    )
    return dataclasses.replace(numbers, verdicts=_verdicts(numbers))


def _witness(proxy, thresholds, log_tail, utility_tail):
    """Theorem 1's two-block reweighting of ``U`` at each threshold (``log P(U >= t)`` and
    ``E[V | U >= t]`` given), raising E[U] by GAIN IQRs of V (see the module docstring for the
    formulas)."""
    if not np.isfinite(proxy.error.mean()):
        return None
    v = proxy.utility
    gain = GAIN * float(v.isf(0.25) - v.ppf(0.25))
    p = np.exp(log_tail)
    excess_v = utility_tail - proxy.mean  # E[V | U >= t] - E[V]
    excess_u = excess_v + proxy.conditional_error(thresholds) - float(proxy.error.mean())
    reached = excess_u > gain
    with np.errstate(divide="ignore", invalid="ignore"):
        mass = np.where(reached, p + gain * (1 - p) / excess_u, np.nan)
    kl = np.full(mass.shape, np.nan)
    kl[reached] = bernoulli_kl(mass[reached], log_tail[reached])
    light = not (tails.is_heavy_tailed(v) or tails.is_heavy_tailed(proxy.error))
    return Witness(
        threshold=thresholds, log_tail=log_tail, mass=mass, kl=kl,
        proxy=proxy.mean + float(proxy.error.mean()) + gain,
        utility=np.where(reached, proxy.mean + gain * excess_v / excess_u, np.nan), gain=gain,
        least_kl=_least_kl(proxy, gain) if light else 0.0,
    )


def _least_kl(proxy, gain):
    """The KL of the exponential tilt of a light-tailed ``U`` whose mean is ``E[U] + gain``:
    the least KL of any law with that mean. The tilt at ``1 / beta`` is Theorem 4's optimum
    at ``beta``, whose ``E[U]`` falls as ``beta`` grows: a root in ``log beta``."""
    radius = min(tails.mgf_radius(proxy.utility), tails.mgf_radius(proxy.error))
    low = -2.0 if np.isinf(radius) else np.log10(1 / radius) + 1e-6
    target = proxy.mean + float(proxy.error.mean()) + gain
    grid = np.linspace(8.0, low, 41)
    above = np.flatnonzero(proxy.penalized_optimum(10.0**grid).proxy >= target)
    if above.size == 0 or above[0] == 0:
        return np.nan
    root = optimize.brentq(lambda b: proxy.penalized_optimum(10.0**b).proxy - target,
                           grid[above[0] - 1], grid[above[0]], xtol=1e-13)
    return float(proxy.penalized_optimum(10.0**root).kl)


def _gain_panel(ax, x, utility, mean, labels, line):
    """The excess ``utility - E[V]`` on a log scale (``labels[0]``) where it is positive
    throughout, else ``utility`` beside ``E[V]`` on a linear one (``labels[1]``)."""
    if np.all(utility - mean > 0):
        ax.plot(x, utility - mean, **line)
        ax.set(yscale="log", ylabel=labels[0])
    else:
        ax.plot(x, utility, **line)
        ax.axhline(mean, **{**line, "color": "black", "linestyle": ":", "marker": ""},
                   label="$E[V]$")
        ax.set(ylabel=labels[1])
        ax.legend()


def _plain_log_formatter():
    from matplotlib.ticker import LogFormatter

    class PlainLog(LogFormatter):
        """matplotlib's choice of log ticks to label, written as plain numbers (0.02, 30)."""

        def __call__(self, x, pos=None):
            return f"{x:g}" if super().__call__(x, pos) else ""

    return PlainLog


def _optimum(proxy, beta):
    """Theorem 4's optimum at ``beta``, or the reason there is none (``beta`` is valid)."""
    try:
        o = proxy.penalized_optimum(float(beta))
    except ValueError as error:
        reason = " ".join(str(error).split())
        if reason.startswith("no optimum"):
            reason = reason.split(": ", 1)[-1]
        return Optimum(beta=float(beta), utility=np.nan, error=np.nan, proxy=np.nan,
                       kl=np.nan, reason=reason)
    return Optimum(beta=float(beta), utility=float(o.utility), error=float(o.error),
                   proxy=float(o.proxy), kl=float(o.kl))


# -- the verdicts ----------------------------------------------------------------------------


def _verdicts(r):
    p, v_tail, x_tail = r.proxy, r.utility_tail, r.error_tail
    mean_x = float(p.error.mean())
    heavy_u = Hypothesis("U heavy-tailed", v_tail.heavy or x_tail.heavy,
                         _heavy_words(v_tail, x_tail))
    finite_u = Hypothesis("E[U] finite", bool(np.isfinite(mean_x)),
                          f"E[X] = {mean_x:.4g}, E[V] = {p.mean:.4g}")
    light_v = Hypothesis("V light-tailed", not v_tail.heavy, f"MGF radius {_radius(v_tail)}")
    mean_v = Hypothesis("V has a finite mean", True, f"E[V] = {p.mean:.4g}")
    corollary = (light_v, Hypothesis("X heavy-tailed, so U is", x_tail.heavy,
                                     f"X is {x_tail.label}"), finite_u)
    theorem4 = (
        Hypothesis("X light: E exp(lam X) finite for every lam > 0",
                   bool(np.isinf(x_tail.mgf_radius)), f"MGF radius {_radius(x_tail)}"),
        Hypothesis("V light: E exp(lam V) finite for every lam > 0",
                   bool(np.isinf(v_tail.mgf_radius)), f"MGF radius {_radius(v_tail)}"),
        _unbounded(p.utility),
    )
    theorem5 = (mean_v, _subexponential(p.error, x_tail), _lighter_by_a_power(p))
    theorem6 = (_steps_vanish(p.error, x_tail), _unbounded(p.utility), mean_v)
    last = (f"E[V | U >= t] - E[V] = {_number(r.conditional_mean[-1] - p.mean, _floor(p))} "
            f"at P(U >= t) = {r.levels[-1]:.0e} (t = {r.thresholds[-1]:.4g})")
    nothing = f"says nothing for this pair; computed: {last}"
    return (
        Verdict("Tails", "tails", (), f"V: {_tail_class(p.utility, v_tail)}; "
                f"X: {_tail_class(p.error, x_tail)}", _tails_evidence(p, v_tail, x_tail)),
        Verdict("Theorem 1", "theorem1", (heavy_u, finite_u), _theorem1_words(r, heavy_u.holds)),
        Verdict("Corollary 1", "corollary", corollary,
                _corollary_words(r, all(h.holds for h in corollary))),
        Verdict("Theorem 2", "theorem2", (light_v,), _theorem2_words(r)),
        Verdict("Theorem 4", "theorem4", theorem4, _theorem4_words(r, theorem4)),
        Verdict("Theorem 5", "theorem5", theorem5,
                f"E[V | U >= t] -> E[V] = {p.mean:.4g}; {last}"
                if all(h.holds for h in theorem5) else nothing),
        Verdict("Theorem 6", "theorem6", theorem6, f"E[V | U >= t] -> inf; {last}"
                if all(h.holds for h in theorem6) else nothing),
        Verdict("Best of N", "best_of_n", (), _best_words(r, _scale(p))),
    )


def _tail_class(law, tail):
    radius = "" if tail.heavy else f", MGF radius {_radius(tail)}"
    return f"{tail.label}{radius} ({_law(law)})"


def _tails_evidence(p, v_tail, x_tail):
    parts = []
    for name, law, tail in (("V", p.utility, v_tail), ("X", p.error, x_tail)):
        depth = [float(law.isf(1e-6)), tail.x]
        rates = [float(tails.decay_rate(law, x)) if x > 0 else np.nan for x in depth]
        parts.append(f"{name}: {tail.basis}, MGF radius {_radius(tail)}; -log P({name} > x) / "
                     f"x = {rates[0]:.3g} at x = {depth[0]:.4g} (P = 1e-6), {rates[1]:.3g} at "
                     f"x = {depth[1]:.4g} (P = 1e-12)")
    return "; ".join(parts)


def _heavy_words(v_tail, x_tail):
    heavy = [name for name, tail in (("V", v_tail), ("X", x_tail)) if tail.heavy]
    if not heavy:
        return "V and X are light-tailed, and so is U: its MGF is the product of theirs"
    return f"{' and '.join(heavy)} {'is' if len(heavy) == 1 else 'are'} heavy-tailed"


def _theorem1_words(r, heavy):
    p, w = r.proxy, r.witness
    if w is None:
        return "E[X] = +inf, so E[U] is infinite under the base law already"
    reached = np.isfinite(w.kl)
    if heavy:
        if not reached.any():
            return (f"E[U] can rise by any amount at vanishing KL, but a gain of {w.gain:.4g} "
                    "needs thresholds beyond P(U >= t) = 1e-12")
        first, last = np.flatnonzero(reached)[[0, -1]]
        return (f"E[U] can rise by any amount at vanishing KL; witness: mass "
                f"{w.mass[last]:.3g} on U >= {w.threshold[last]:.4g} (base probability "
                f"{np.exp(w.log_tail[last]):.0e}) raises E[U] by {w.gain:.4g} at "
                f"{w.kl[last]:.3g} nats ({w.kl[first]:.3g} at t = {w.threshold[first]:.4g}), "
                f"and E[V] by {_number(w.utility[last] - p.mean, _floor(p))}")
    least = ("more than the range computed" if np.isnan(w.least_kl)
             else f"at least {w.least_kl:.4g} nats")
    return (f"no: each KL budget bounds E[U] (Theorem 2 applied to U): raising it by "
            f"{w.gain:.4g} costs {least}, the KL of the exponential tilt of U")


def _corollary_words(r, applies):
    p, w = r.proxy, r.witness
    if not applies:
        if w is None and not r.utility_tail.heavy:
            return ("its conclusion holds trivially: E[U] = +inf at KL 0, with E[V] at "
                    f"{p.mean:.4g}")
        return "says nothing for this pair"
    words = f"catastrophic Goodhart: E[U] -> inf, KL -> 0, limsup E[V] <= {p.mean:.4g}"
    if np.any(np.isfinite(w.kl)):
        k = np.flatnonzero(np.isfinite(w.kl))[-1]
        words += (f"; the witness at {w.kl[k]:.3g} nats moves E[V] by "
                  f"{_number(w.utility[k] - p.mean, _floor(p))}")
    return words


def _theorem2_words(r):
    if r.utility_tail.heavy:
        return "no KL budget bounds E[V]: the frontier is +inf at every budget > 0"
    gains = ", ".join(f"{f - r.proxy.mean:.4g}" for f in r.frontier)
    budgets = ", ".join(f"{d:g}" for d in r.budgets)
    return f"E[V] rises by at most {gains} at KL {budgets} nats (-> 0 as KL -> 0)"


def _theorem4_words(r, hypotheses):
    found = [o for o in r.optima if not o.reason]
    values = ", ".join(f"{o.utility:.4g}" for o in found)
    missing = [o for o in r.optima if o.reason]
    if all(h.holds for h in hypotheses):  # an optimum exists at every beta: missing = failed
        words = "E[V] at the optimum -> inf as beta -> 0"
        words += f": {values} at beta {_listed(found)}" if found else ""
        if missing:
            words += f"; not computed at beta {_listed(missing)}: {missing[0].reason}"
        return words
    if not found:
        return f"no optimum for any beta of {_listed(r.optima)}: {missing[0].reason}"
    words = f"E[V] at the optimum {values} at beta {_listed(found)}"
    if missing:
        words += f"; none for beta {_listed(missing)}: {missing[0].reason}"
    if np.isfinite(r.proxy.utility.support()[1]):
        words += f" (V is bounded: E[V] can only approach {r.proxy.utility.support()[1]:.4g})"
    return words


def _best_words(r, scale):
    b, peak = r.best, r.peak
    last = _number(b.utility[-1], BEST_ACCURACY * scale)
    if peak.n is not None:
        words = f"E[V] peaks at N = {_count(peak.n)} ({peak.utility:.4g})"
        after = np.flatnonzero(b.n >= peak.n)
        low = after[np.argmin(b.utility[after])]
        if low < b.n.size - 1:  # the fall turns within the range
            words += (f", falls to {b.utility[low]:.4g} at N = {_count(b.n[low])} and rises "
                      f"again: {last} at N = 1e12")
        else:
            words += f", then falls: {last} at N = 1e12"
    else:
        words = f"E[V] is largest at N = 1e12 ({last})"
        falls = np.flatnonzero(np.diff(b.utility) < 0)
        if falls.size:
            start = end = falls[0]
            while end + 1 in falls:
                end += 1
            words += (f", but falls from {b.utility[start]:.4g} at N = {_count(b.n[start])} "
                      f"to {b.utility[end + 1]:.4g} at N = {_count(b.n[end + 1])}")
    if np.isinf(b.error[-1]):
        return words + "; E[X] = E[U] = +inf there"
    return words + f"; E[X] {b.error[-1]:.4g}, E[U] {b.proxy[-1]:.4g} there"


def _unbounded(v):
    end = float(v.support()[1])
    return Hypothesis("V unbounded above", bool(np.isinf(end)), f"upper end {end:g}")


def _subexponential(x, tail):
    """X subexponential: from the family, with P(X1 + X2 > x) / P(X > x) at two depths for a
    heavy tail (a light one has a finite MGF somewhere, which no subexponential law has)."""
    if not tail.heavy:
        return Hypothesis("X subexponential", False,
                          f"X is light-tailed, MGF radius {_radius(tail)} > 0")
    depth = [float(x.isf(1e-6)), tail.x]
    ratios = [float(tails.subexponential_ratio(x, d)) for d in depth]
    return Hypothesis(
        "X subexponential", tail.subexponential,
        f"{tail.basis}; P(X1 + X2 > x) / P(X > x) = {ratios[0]:.4g} at x = {depth[0]:.4g}, "
        f"{ratios[1]:.4g} at x = {depth[1]:.4g}; 2 in the limit iff subexponential")


def _lighter_by_a_power(p):
    """``t^p Fbar_V(t) / Fbar_X(t) -> 0`` for some ``p > 1``: the exponent ``k`` of
    ``Fbar_V / Fbar_X ~ t^-k`` between the error's quantiles 1e-9 and 1e-12 exceeds 1."""
    text = "t^p P(V > t) / P(X > t) -> 0 for some p > 1"
    t = np.asarray(p.error.isf(np.array([1e-9, 1e-12])), dtype=float)
    if np.any(t <= 0) or not np.all(np.isfinite(t)):
        return Hypothesis(text, False, "the error's far quantiles are not positive")
    log_v = np.asarray(tails.log_sf(p.utility, t), dtype=float)
    if np.all(log_v == -np.inf):
        return Hypothesis(text, True, f"V is bounded above (P(V > {t[0]:.4g}) = 0)")
    log_ratio = log_v - np.asarray(tails.log_sf(p.error, t), dtype=float)
    k = float(-(log_ratio[1] - log_ratio[0]) / np.log(t[1] / t[0]))
    return Hypothesis(text, bool(k > 1 + MARGIN),
                      f"P(V > t) / P(X > t) behaves like t^-k, k = {k:.3g} between t = "
                      f"{t[0]:.4g} and {t[1]:.4g}; k > 1 is needed")


def _steps_vanish(x, tail):
    """``Fbar_X(t + 1) / Fbar_X(t) -> 0``: a bounded support, or a tail lighter than every
    exponential (an infinite MGF radius) whose unit steps shrink from depth 1e-6 to 1e-12."""
    text = "P(X > t + 1) / P(X > t) -> 0"
    end = float(x.support()[1])
    if np.isfinite(end):
        return Hypothesis(text, True, f"X is bounded above, at {end:g}")
    t = np.array([float(x.isf(1e-6)), tail.x])
    steps = np.exp(np.asarray(tails.log_sf(x, t + 1)) - np.asarray(tails.log_sf(x, t)))
    holds = bool(np.isinf(tail.mgf_radius) and steps[1] < steps[0])
    return Hypothesis(text, holds, f"MGF radius {_radius(tail)}; the ratio is {steps[0]:.4g} at "
                                   f"t = {t[0]:.4g}, {steps[1]:.4g} at t = {t[1]:.4g}")


# -- formatting ------------------------------------------------------------------------------


def _scale(proxy):
    """The utility's interquartile range: the unit of 'zero up to rounding' for utilities."""
    v = proxy.utility
    return float(v.isf(0.25) - v.ppf(0.25))


def _floor(proxy):
    """What rounding leaves of a utility computed beside ``E[V]`` (as ``E[V]`` plus a small
    excess, or minus ``E[V]``): ``1e-12`` of the utility's scale or of ``|E[V]|``."""
    return 1e-12 * max(_scale(proxy), abs(proxy.mean))


def _number(value, floor):
    """``value`` to 4 significant digits, or the bound ``0 (|.| < floor)`` where it is 0 up
    to rounding, ``|value| < floor``."""
    if abs(value) < floor:
        return f"0 (|.| < {floor:.0e})"
    return f"{value:.4g}"


def _count(n):
    """A number of draws: in full below 1e5, else as ``1.8e11``."""
    if n < 1e5:
        return f"{n:.0f}"
    mantissa, exponent = f"{n:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


def _radius(tail):
    return "infinite" if np.isinf(tail.mgf_radius) else f"{tail.mgf_radius:.4g}"


def _listed(optima):
    return ", ".join(f"{o.beta:g}" for o in optima)


def _law(q):
    """A law as the command line spells it: ``t(3)``, ``norm(loc=1, scale=2)``."""
    name, shapes, loc, scale = tails.standard_form(q)
    args = [f"{s:g}" for s in shapes]
    args += [f"{k}={value:g}" for k, value, default in (("loc", loc, 0.0), ("scale", scale, 1.0))
             if value != default]
    return f"{name}({', '.join(args)})"


def _failed(verdict):
    """`` (fails: ...)``, the hypotheses of ``verdict`` that do not hold, or ``""``."""
    failed = [h.text for h in verdict.hypotheses if not h.holds]
    return f" (fails: {'; '.join(failed)})" if failed else ""


def _wrap(text, first="", rest=""):
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False, break_long_words=False)


# -- the command line ------------------------------------------------------------------------


def parse_law(spec, name):
    """A frozen scipy law from text such as ``"t(3)"`` or ``"norm(loc=1, scale=2)"``.

    Only a continuous scipy.stats family called with finite numbers is accepted: the text is
    parsed with Python's ``ast`` module, never evaluated.

    Parameters
    ----------
    spec : str
        ``family(numbers)``, the family as scipy.stats spells it (``t``, ``lognorm``,
        ``weibull_min``), shapes then ``loc`` and ``scale``, by position or by keyword; a
        bare name means no parameters.
    name : str
        The role of the law, for messages (``"utility"``, ``"error"``).

    Returns
    -------
    frozen scipy.stats law

    Raises
    ------
    ValueError
        Naming ``name``: text of another form, an unknown or discrete family, a parameter
        that is not a finite number, or parameters the family refuses.

    Examples
    --------
    >>> law = parse_law("t(3, scale=2)", "--error")
    >>> law.dist.name, law.kwds
    ('t', {'scale': 2.0})
    >>> parse_law("t(0)", "--error")
    Traceback (most recent call last):
    ...
    ValueError: --error: t(0): parameters outside the family's domain
    """
    if not isinstance(spec, str):
        raise ValueError(f"{name}: expected text such as 't(3)', got {type(spec).__name__}")
    if len(spec) > MAX_SPEC:
        raise ValueError(f"{name}: {len(spec)} characters, more than the {MAX_SPEC} a law "
                         "such as 't(3)' needs")
    form = f"{name}: {spec!r} is not of the form family(numbers), such as 't(3)'"
    try:
        tree = ast.parse(source := spec.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # ValueError: a NUL byte
        raise ValueError(form) from None
    if isinstance(tree, ast.Name):
        tree = ast.Call(func=tree, args=[], keywords=[])
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)):
        raise ValueError(form)
    family = getattr(stats, tree.func.id, None)
    if not isinstance(family, stats.rv_continuous):
        raise ValueError(f"{name}: {tree.func.id!r} is not a continuous scipy.stats family")

    def number(node):
        try:
            value = ast.literal_eval(node)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                value = None
            else:
                value = float(value)  # OverflowError for an integer beyond 1e308
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError,
                OverflowError):
            value = None
        if value is None or not np.isfinite(value):
            text = ast.get_source_segment(source, node) or ast.unparse(node)
            raise ValueError(f"{name}: {text} is not a finite number")
        return value

    if any(k.arg is None for k in tree.keywords):
        raise ValueError(form)
    keywords = [k.arg for k in tree.keywords]
    if len(set(keywords)) < len(keywords):
        raise ValueError(f"{name}: {ast.unparse(tree)}: a keyword given twice")
    args = [number(a) for a in tree.args]
    kwargs = {k.arg: number(k.value) for k in tree.keywords}
    text = ast.unparse(tree)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            law = family(*args, **kwargs)
            support = np.asarray(law.support(), dtype=float)  # scipy checks parameters here
    except (ValueError, TypeError) as error:
        message = " ".join(str(error).split()).removeprefix("_parse_args() ")
        raise ValueError(f"{name}: {text}: {message}") from None
    if np.any(np.isnan(support)):  # scipy's mark of parameters it refuses
        raise ValueError(f"{name}: {text}: parameters outside the family's domain")
    return law


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 1."""

    def error(self, message):
        self.exit(1, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


@quiet_when_the_reader_leaves
def main(argv=None):
    """``goodhart-report --utility "norm(0, 2)" --error "t(3)" [--out figure.png]``.

    Prints the report; with ``--out``, writes its figure as a PNG. Returns the exit status:
    0, or 1 after a one-line message on stderr (bad laws, parameters a family refuses, a
    pair the engine does not support, an output it cannot write).
    """
    parser = _Parser(
        prog="goodhart-report", allow_abbrev=False,
        description="What each result of the catastrophic-Goodhart book says for one pair of "
        "independent laws, utility V and error X, with proxy U = X + V. Laws are scipy.stats "
        "families with their parameters, as scipy spells them: 'norm(0, 2)', 't(3)', "
        "'lognorm(1, scale=2)', 'weibull_min(1.5)'.",
        epilog="exit status: 0 on success; 1 with a one-line message on stderr otherwise.",
    )
    parser.add_argument("--utility", required=True, help="the law of V, e.g. 'norm(0, 2)'")
    parser.add_argument("--error", required=True, help="the law of X, e.g. 't(3)'")
    parser.add_argument("--out", metavar="FIGURE.png", help="write the report's figure there")
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            utility = parse_law(args.utility, "--utility")
            error = parse_law(args.error, "--error")
            if args.out:
                target = output_path(args.out, "")  # checked before the long computation
            result = report(Proxy(utility=utility, error=error))
            if args.out:
                write_png(result.figure(), target)
        except (ValueError, ArithmeticError, OSError) as failure:
            cause = "the engine cannot compute this pair: " * isinstance(failure, ArithmeticError)
            message = " ".join(str(failure).split())
            if message.startswith(("utility:", "error:")):  # the report names its argument
                message = "--" + message  # as the command line spells it
            print(f"goodhart-report: error: {cause}{message}", file=sys.stderr)
            return 1
    for warning in caught:
        print(f"goodhart-report: warning: {' '.join(str(warning.message).split())}",
              file=sys.stderr)
    print(result.text() + (f"\n\nwrote {args.out}" if args.out else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
