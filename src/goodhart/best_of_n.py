"""Best-of-N selection: the paper's synthetic experiment, exactly and by its own Monte Carlo.

Draw ``n`` iid pairs ``(X_i, V_i)``, keep the one with the largest proxy ``U = X + V``, and ask
what its utility ``V`` and error ``X`` are on average. :meth:`goodhart.proxy.Proxy.best_of_n`
computes the expectations exactly (integrals over the law of the maximum, no sampling) for any
``n`` up to ``10^12`` and beyond; this module holds the paper's ten pairs of laws, the search for
the ``n`` at which utility peaks, and the Monte Carlo twin that follows the paper's protocol
(``trials`` independent best-of-``n`` draws), with standard errors.
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats

from goodhart import _checks
from goodhart.proxy import BestOfN, Proxy, _quantile
from goodhart.tails import log1mexp

# The paper's synthetic experiment (its Appendix B.1; the authors' best-of-n/bon_synthetic.py):
# utility V with standard deviation 2, error X with unit variance where it has one (Levy has
# none), lognormal(0, ln 2) shifted by -1 (so its mean is exp((ln 2)^2 / 2) - 1 = 0.27, not 0).
PAPER_UTILITIES = {"normal": stats.norm(0, 2), "t10": stats.t(10, scale=2 / np.sqrt(10 / 8))}
PAPER_ERRORS = {
    "normal": stats.norm(),
    "t3": stats.t(3, scale=np.sqrt(1 / 3)),
    "t5": stats.t(5, scale=np.sqrt(3 / 5)),
    "lognormal": stats.lognorm(s=np.log(2), loc=-1),
    "levy": stats.levy(),
}


def paper_pairs():
    """The paper's ten ``Proxy`` pairs, keyed ``(utility name, error name)``.

    Examples
    --------
    >>> sorted(paper_pairs())[:2]
    [('normal', 'levy'), ('normal', 'lognormal')]
    """
    return {
        (v_name, x_name): Proxy(utility=v, error=x)
        for v_name, v in PAPER_UTILITIES.items()
        for x_name, x in PAPER_ERRORS.items()
    }


@dataclass(frozen=True)
class Peak:
    """Where utility at the best of ``n`` is largest for ``n <= n_max``.

    ``n`` is ``None`` when utility is still rising at ``n_max``; ``utility`` is then its value
    at ``n_max``.
    """

    n: float | None
    utility: float


def utility_peak(proxy, n_max=1e12):
    """The ``n <= n_max`` at which ``E[V]`` at the best of ``n`` is largest, and that ``E[V]``.

    A log grid of 241 values of ``n`` finds the peak, 400 values between its neighbours refine
    it (every integer there, near small peaks).

    Examples
    --------
    >>> pairs = paper_pairs()
    >>> utility_peak(pairs["normal", "normal"], n_max=1e4).n is None  # normal error: no peak
    True
    """
    if not isinstance(proxy, Proxy):
        raise ValueError(f"proxy must be a goodhart.Proxy, got {type(proxy).__name__}")
    n_max = _checks.scalar(n_max, "n_max", low=2.0, high=1e100)
    grid = np.unique(np.round(np.logspace(0, np.log10(n_max), 241)))
    values = proxy.best_of_n(grid).utility
    k = int(np.argmax(values))
    if k == len(grid) - 1:
        return Peak(n=None, utility=float(values[-1]))
    candidates = np.unique(np.round(np.geomspace(grid[max(k - 1, 0)], grid[k + 1], 400)))
    refined = proxy.best_of_n(candidates).utility
    return Peak(n=float(candidates[np.argmax(refined)]), utility=float(refined.max()))


def sample_best_of_n(proxy, n, trials, rng=None, top=None, chunk=2**22):
    """Monte Carlo twin of :meth:`~goodhart.proxy.Proxy.best_of_n`: ``trials`` best-of-``n`` draws.

    Returns the means over trials of ``V``, ``X`` and ``U`` at each trial's best draw, with
    their standard errors in ``.se`` (``std / sqrt(trials)``). By default every trial draws its
    ``n`` pairs (in chunks of about ``chunk`` draws): the paper's protocol, with
    ``trials = 100``. With ``top = k`` each trial draws instead only the ``k + 1`` largest
    values of the heavier-tailed law among ``n`` (exactly, by Renyi's representation of uniform
    order statistics), their partners, and the largest partner among the rest; when the best
    of the top ``k`` beats every bound on the rest the trial is done, otherwise the rest is
    drawn from its exact conditional law. Same law of the best draw, at a cost of about ``k``
    draws a trial when the heavier law wins.

    Parameters
    ----------
    proxy : goodhart.proxy.Proxy
    n : int or array_like
        Whole numbers ``>= 1``. Drawn in full, ``sum(n) * trials`` is at most ``10^8`` draws
        (pass ``top`` for a larger ``n``).
    trials : int
        At least 2, for a standard error.
    rng : None, int or numpy Generator
        Random numbers (SPEC 7); the utility and the error use independent streams.
    top : int, optional
        Draw only the top ``top`` of the heavier law exactly (see above).

    Returns
    -------
    BestOfN
        With ``se`` holding the standard errors and ``trials`` the number of trials.

    Examples
    --------
    >>> r = sample_best_of_n(paper_pairs()["normal", "normal"], 16, trials=200, rng=1)
    >>> bool(abs(r.utility - 0.8 * 5**0.5 * 1.766) < 4 * r.se.utility)  # E[max of 16] = 1.766
    True
    """
    if not isinstance(proxy, Proxy):
        raise ValueError(f"proxy must be a goodhart.Proxy, got {type(proxy).__name__}")
    n = _checks.whole(n, "n", low=1)
    if np.any(n > 2.0**53):
        raise ValueError(f"n must be at most 2^53 to be sampled (draws), got {n.max():g}")
    trials = _checks.integer(trials, "trials", low=2, high=_checks.MAX_DRAWS)
    if top is not None:
        top = _checks.integer(top, "top", low=1)
    chunk = _checks.integer(chunk, "chunk", low=1)
    plain = n if top is None else n[n <= top + 1]  # the n drawn in full
    _checks.draws({"n": int(plain.sum()), "trials": trials},
                  "draws in full (pass top to draw only the largest of a large n)")
    v_rng, x_rng, order_rng = _checks.streams(rng, 3)
    flat = n.reshape(-1).astype(np.int64)
    best_v = np.empty((len(flat), trials))
    best_x = np.empty((len(flat), trials))
    for row, size in enumerate(flat):
        if top is not None and size > top + 1:
            best_v[row], best_x[row] = _best_by_order_statistics(
                proxy, size, trials, order_rng, top
            )
        else:
            best_v[row], best_x[row] = _best_by_brute_force(
                proxy, size, trials, v_rng, x_rng, chunk
            )
    best_u = best_v + best_x

    def mean_and_se(a):
        se = a.std(axis=1, ddof=1) / np.sqrt(trials)
        return a.mean(axis=1).reshape(n.shape), se.reshape(n.shape)

    (utility, utility_se), (error, error_se), (proxy_mean, proxy_se) = map(
        mean_and_se, (best_v, best_x, best_u)
    )
    return BestOfN(
        n=n, utility=utility, error=error, proxy=proxy_mean, trials=trials,
        se=BestOfN(n=n, utility=utility_se, error=error_se, proxy=proxy_se),
    )


def _best_by_brute_force(proxy, n, trials, v_rng, x_rng, chunk):
    """``(V, X)`` at the best of ``n`` plain draws, for each of ``trials`` trials."""
    v, x = proxy.utility, proxy.error
    best_v, best_x = np.empty(trials), np.empty(trials)
    rows = max(1, chunk // n)
    for start in range(0, trials, rows):
        block = slice(start, min(trials, start + rows))
        size = block.stop - block.start
        keep_v, keep_x = np.full(size, np.nan), np.full(size, np.nan)
        for lo in range(0, n, chunk):
            width = min(n, lo + chunk) - lo
            vs = v.rvs(size=(size, width), random_state=v_rng)
            xs = x.rvs(size=(size, width), random_state=x_rng)
            pick = np.argmax(vs + xs, axis=1)
            cand_v, cand_x = vs[np.arange(size), pick], xs[np.arange(size), pick]
            better = ~(cand_v + cand_x <= keep_v + keep_x)  # also where nothing is kept yet
            keep_v, keep_x = np.where(better, cand_v, keep_v), np.where(better, cand_x, keep_x)
        best_v[block], best_x[block] = keep_v, keep_x
    return best_v, best_x


def _logit(log_p):
    """``log(p / (1 - p))`` from ``log p``."""
    return log_p - log1mexp(log_p)


def _heavier(v, x):
    """True when ``v``'s far tail is the heavier one: the smaller hazard at the 1e-12 quantile."""

    def hazard(dist):
        q = _quantile(dist, np.array([np.log(1e12)]))
        return float(np.exp(dist.logpdf(q) - dist.logsf(q))[0])

    return hazard(v) < hazard(x)


def _best_by_order_statistics(proxy, n, trials, rng, k):
    """``(V, X)`` at the best of ``n`` draws, drawing the heavier law's top ``k`` exactly."""
    v, x = proxy.utility, proxy.error
    v_heavy = _heavier(v, x)
    rank, other = (v, x) if v_heavy else (x, v)
    # the k + 1 smallest of n uniform tail probabilities: S_j / S_(n+1), S partial sums of Exp(1)
    s = np.cumsum(rng.exponential(size=(trials, k + 1)), axis=1)
    log_p = np.log(s) - np.log(s[:, -1] + rng.gamma(n - k, size=trials))[:, None]
    ranked = _quantile(rank, -_logit(log_p).ravel()).reshape(log_p.shape)  # decreasing
    partners = other.rvs(size=(trials, k), random_state=rng)
    total = ranked[:, :k] + partners
    pick = np.argmax(total, axis=1)
    best_rank, best_other = ranked[np.arange(trials), pick], partners[np.arange(trials), pick]
    # the largest partner among the other n - k draws: F^(n-k) = W
    log_cdf_max = np.log(rng.uniform(size=trials)) / (n - k)
    largest = _quantile(other, _logit(log_cdf_max))
    unsettled = np.nonzero(total[np.arange(trials), pick] <= ranked[:, k] + largest)[0]
    if unsettled.size and n - k > _checks.MAX_DRAWS:
        raise ValueError(
            f"top = {k} does not settle the best of n = {n} draws in {unsettled.size} of "
            f"{trials} trials, and the rest ({n - k:.3g} draws) is too many to draw: "
            "pass a larger top"
        )
    for i in unsettled:
        # the rest, from its exact conditional law: one draw at the (k+1)-th value, the others
        # below it; one partner at the largest value (at a random place), the others below it
        rest = np.empty(n - k)
        rest[0] = ranked[i, k]
        below = np.log(rng.uniform(size=n - k - 1)) + rank.logcdf(ranked[i, k])
        rest[1:] = _quantile(rank, _logit(below))
        mates = _quantile(other, _logit(np.log(rng.uniform(size=n - k)) + log_cdf_max[i]))
        mates[rng.integers(n - k)] = largest[i]
        j = np.argmax(rest + mates)
        if rest[j] + mates[j] > best_rank[i] + best_other[i]:
            best_rank[i], best_other[i] = rest[j], mates[j]
    return (best_rank, best_other) if v_heavy else (best_other, best_rank)
