"""Tests of goodhart.divergences: the Bernoulli and mixture KLs against mpmath (100 and 50 digits),
direct sums."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from goodhart.divergences import alpha_for_kl, bernoulli_kl, first_order_kl, mixture_kl

LOG_Q_PAPER = -1339.70


def reference_kl(alpha, log_q):
    """The paper's formula evaluated with 100 significant digits: its two terms cancel to
    ``alpha^2 (1 - q) / 2`` from ``alpha (1 - q)``, inside a log of ``1 + alpha (1 - q)``,
    which costs up to 42 digits over the hypothesis test's range (at 50 digits the reference
    was 1.8e-10 off at alpha = 1e-15, q = 1 - 5e-12)."""
    with mp.workdps(100):
        a, q = mp.mpf(alpha), mp.exp(mp.mpf(log_q))
        p_x = (1 - a) * q + a
        return float(p_x * mp.log(p_x / q) + (1 - a) * (1 - q) * mp.log(1 - a))


@pytest.mark.parametrize("log_q", [LOG_Q_PAPER, -50.0, -5.0, -1.0, -1e-3, -1e-9])
@pytest.mark.parametrize("alpha", [1e-12, 1e-8, 1e-4, 0.01, 0.3, 0.9, 1 - 1e-9])
def test_matches_mpmath_on_a_grid(alpha, log_q):
    assert mixture_kl(alpha, log_q) == pytest.approx(reference_kl(alpha, log_q), rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    alpha=st.floats(1e-15, 1 - 1e-12),
    log_q=st.floats(-5000.0, -1e-12),
)
def test_matches_mpmath_everywhere(alpha, log_q):
    assert mixture_kl(alpha, log_q) == pytest.approx(reference_kl(alpha, log_q), rel=1e-11)


def reference_bernoulli_kl(mass, p):
    """``D(Bern(mass) || Bern(p))``, ``p`` the double given, to 50 digits beyond ``log10 p``
    (the lower term's log differs from 0 by about ``p``)."""
    with mp.workdps(50 + 2 * int(-np.log10(p))):
        m, p = mp.mpf(mass), mp.mpf(p)
        upper = m * mp.log(m / p) if m > 0 else 0
        lower = (1 - m) * mp.log((1 - m) / (1 - p)) if m < 1 else 0
        return float(upper + lower)


@settings(max_examples=300, deadline=None)
@given(
    log_p=st.floats(-700.0, -1e-9),
    relative=st.one_of(st.floats(-0.2, 0.2), st.floats(-1e-6, 1e-6), st.floats(-0.99, 3.0)),
)
def test_bernoulli_kl_near_and_far_from_p(log_p, relative):
    """Where ``mass`` is close to ``p`` the two terms cancel to ``d^2 / (2 p (1 - p))``: the KL
    must keep its relative accuracy there, and never go below 0 (it did, at -6e-19)."""
    p = float(np.exp(log_p))
    mass = min(p * (1 + relative), 1.0)
    kl = bernoulli_kl(mass, np.log(p))
    assert kl >= 0
    assert kl == pytest.approx(reference_bernoulli_kl(mass, p), rel=1e-9, abs=1e-300)


def test_equals_direct_sum_over_a_finite_space():
    """KL summed term by term for Q on five outcomes, P = (1 - a) Q + a delta_x."""
    q = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
    for x in range(5):
        for alpha in [0.001, 0.2, 0.7]:
            p = (1 - alpha) * q
            p[x] += alpha
            direct = special.rel_entr(p, q).sum()
            # the sum's own rounding: each log(p / q) is good to eps, and the terms cancel to
            # the KL (5e-7 at alpha = 0.001)
            rounding = 4 * np.finfo(float).eps
            assert mixture_kl(alpha, np.log(q[x])) == pytest.approx(direct, rel=1e-13,
                                                                    abs=rounding)


def test_endpoints_and_vectorization():
    log_q = np.array([LOG_Q_PAPER, -3.0])
    assert np.array_equal(mixture_kl(0.0, log_q), [0.0, 0.0])
    np.testing.assert_allclose(mixture_kl(1.0, log_q), -log_q, rtol=1e-15)
    assert mixture_kl(0.4, 0.0) == 0.0  # q = 1: the mixture is Q itself
    assert mixture_kl(np.array([0.1, 0.2]), LOG_Q_PAPER).shape == (2,)


def test_paper_numbers():
    """13.35 nats is the first-order value; the exact KL is 13.341 (rounds to 13.34)."""
    assert first_order_kl(0.01, LOG_Q_PAPER) == pytest.approx(0.01 * (np.log(0.01) + 1339.70))
    assert round(first_order_kl(0.01, LOG_Q_PAPER), 2) == 13.35
    exact = mixture_kl(0.01, LOG_Q_PAPER)
    assert round(exact, 2) == 13.34
    # For q << a the gap is (1 - a) log(1 - a), to within q.
    assert exact - first_order_kl(0.01, LOG_Q_PAPER) == pytest.approx(
        0.99 * np.log(0.99), rel=1e-12
    )


@settings(max_examples=100, deadline=None)
@given(alpha=st.floats(1e-10, 1 - 1e-6), log_q=st.floats(-3000.0, -1e-3))
def test_alpha_for_kl_inverts(alpha, log_q):
    kl = mixture_kl(alpha, log_q)
    if kl > 0:
        assert alpha_for_kl(kl, log_q) == pytest.approx(alpha, rel=1e-8)


def test_alpha_for_kl_endpoints():
    assert alpha_for_kl(0.0, -10.0) == 0.0
    assert alpha_for_kl(10.0, -10.0) == 1.0
    assert alpha_for_kl(np.array([1.0, 2.0]), LOG_Q_PAPER).shape == (2,)


@settings(max_examples=100, deadline=None)
@given(a=st.floats(0.0, 1.0), b=st.floats(0.0, 1.0), log_q=st.floats(-2000.0, -1e-6))
def test_increasing_in_alpha(a, b, log_q):
    low, high = sorted([a, b])
    assert mixture_kl(low, log_q) <= mixture_kl(high, log_q) * (1 + 1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mixture_kl(-0.1, -5.0), "alpha"),
        (lambda: mixture_kl(1.5, -5.0), "alpha"),
        (lambda: mixture_kl(0.1, 0.5), "log_q"),
        (lambda: mixture_kl(np.nan, -5.0), "alpha"),
        (lambda: first_order_kl(0.1, np.inf), "log_q"),
        (lambda: alpha_for_kl(11.0, -10.0), "kl"),
        (lambda: alpha_for_kl(-1.0, -10.0), "kl"),
        (lambda: alpha_for_kl(1.0, 0.0), "log_q"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()
