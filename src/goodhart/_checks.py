"""Argument checks and array conventions shared by every public function of ``goodhart``.

Each public function validates its arguments once, on entry, with these helpers, so that bad
input raises a ``ValueError`` that names the argument instead of a NaN or a traceback from
deep inside numpy or scipy. The conventions:

* a law is a *frozen*, continuous ``scipy.stats`` distribution (``stats.norm(0, 2)``);
* numbers are checked for NaN, infinities and bounds before any work is done;
* scalar in, float out; array in, array out (:func:`like`);
* random numbers come from one ``rng`` argument, anything ``numpy.random.default_rng``
  accepts (scipy's SPEC 7), split into independent streams for independent laws.
"""

import numbers
import re
from contextlib import contextmanager

import numpy as np
from scipy import stats


def law(dist, name):
    """``dist`` if it is a frozen continuous scipy.stats law, else a ValueError naming ``name``."""
    if isinstance(dist, stats.rv_continuous):
        raise ValueError(
            f"{name} must be a frozen law such as stats.{dist.name}(...), not the family "
            f"stats.{dist.name} itself"
        )
    family = getattr(dist, "dist", None)
    if isinstance(family, stats.rv_discrete):
        raise ValueError(
            f"{name} is the discrete law {family.name}; a continuous law with a density is needed"
        )
    if not (isinstance(family, stats.rv_continuous) and hasattr(dist, "logsf")):
        raise ValueError(
            f"{name} must be a frozen continuous scipy.stats law (for example stats.norm()), "
            f"got {type(dist).__name__}"
        )
    return dist


def finite_mean(dist, name):
    """``E[X]`` of the law ``dist`` as a float, or a ValueError if it is infinite or undefined."""
    law(dist, name)
    mean = float(dist.mean())
    if not np.isfinite(mean):
        raise ValueError(
            f"{name} ({dist.dist.name}) has no finite mean (scipy gives {mean}), which this "
            "result needs"
        )
    return mean


def real(value, name, *, low=None, high=None, low_open=False, high_open=False, finite=True):
    """``value`` as a float array, checked: no NaN, finite unless ``finite=False``, in bounds.

    ``low``/``high`` are inclusive bounds unless ``low_open``/``high_open``. Booleans, strings
    and complex numbers are refused rather than silently converted.
    """
    if isinstance(value, (str, bytes, bool, np.bool_)) or value is None:
        raise ValueError(f"{name} must be a real number or an array of them, got {value!r}")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or an array of them") from None
    if array.dtype.kind not in "iuf":
        raise ValueError(
            f"{name} must hold real numbers, got an array of {array.dtype} ({_short(value)})"
        )
    array = array.astype(float)
    if np.any(np.isnan(array)):
        raise ValueError(f"{name} must not be NaN, got {_short(value)}")
    if finite and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {_short(value)}")
    if low is not None:
        bad = array <= low if low_open else array < low
        if np.any(bad):
            sign = ">" if low_open else ">="
            raise ValueError(f"{name} must be {sign} {low:g}, got {_short(value)}")
    if high is not None:
        bad = array >= high if high_open else array > high
        if np.any(bad):
            sign = "<" if high_open else "<="
            raise ValueError(f"{name} must be {sign} {high:g}, got {_short(value)}")
    return array


def scalar(value, name, *, check=None, **bounds):
    """One number as a float, checked by ``check`` (default :func:`real`, with ``bounds``).

    An array of other than exactly one number (``[]``, ``[1, 2]``) is refused by name, where
    ``float(array)`` would raise numpy's own TypeError.
    """
    array = (check or real)(value, name, **bounds)
    if array.size != 1:
        raise ValueError(f"{name} must be one number, got an array of shape {array.shape}")
    return float(array.reshape(()))


def probability(value, name, *, closed=False):
    """``value`` checked to lie in (0, 1), or in [0, 1] when ``closed``."""
    return real(value, name, low=0.0, high=1.0, low_open=not closed, high_open=not closed)


def whole(value, name, *, low=1, high=None):
    """``value`` as a float array of whole numbers ``>= low`` (counts such as ``n``)."""
    array = real(value, name, low=low, high=high)
    if np.any(array != np.round(array)):
        raise ValueError(f"{name} must be whole numbers, got {_short(value)}")
    return array


def integer(value, name, *, low=None, high=None):
    """``value`` as a Python int (``low``, ``high`` inclusive), refusing fractional floats."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    # a Python int of any size is whole and finite (np.isfinite refuses ints beyond 64 bits)
    if not isinstance(value, numbers.Integral) and (not np.isfinite(value)
                                                    or value != int(value)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be an integer <= {high:.0e}, got {value}")
    return value


#: The largest count of draws or trials a function allocates at once (8 bytes each: 800 MB).
MAX_DRAWS = 10**8


def draws(counts, what):
    """Refuse a product of counts (``n * replicates``) above :data:`MAX_DRAWS`, by name."""
    total = 1
    for value in counts.values():
        total *= value
    if total > MAX_DRAWS:
        names = " * ".join(counts)
        raise ValueError(f"{names} must be at most {MAX_DRAWS:.0e} {what}, got {total:.3g}")


def same_shape(name_a, a, name_b, b):
    """Refuse arrays of different shapes where broadcasting would hide a mistake."""
    if np.shape(a) != np.shape(b):
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {np.shape(a)} and {np.shape(b)}"
        )


@contextmanager
def named(name):
    """Re-raise a ValueError from inside with ``name:`` in front, unless it names it already.

    For errors found deep in a computation (a tail that underflows at a given ``x``), so that
    the message says which argument caused them.
    """
    try:
        yield
    except ValueError as error:
        if re.search(rf"\b{re.escape(name)}\b", str(error)):
            raise
        raise ValueError(f"{name}: {error}") from None


def like(result, template=None):
    """``result`` as a float if ``template`` is a scalar, else as an array of its shape.

    Without a template, ``result`` is its own: a 0-d result becomes a float (scalar in,
    float out; array in, array out).
    """
    result = np.asarray(result, dtype=float)
    shape = result.shape if template is None else np.shape(template)
    if len(shape) == 0:
        return float(result.reshape(()))
    return result.reshape(shape)


def streams(rng, count):
    """``count`` independent generators from ``rng`` (seed, Generator or None; SPEC 7)."""
    if isinstance(rng, (bool, np.bool_, float, str)):
        raise ValueError(f"rng must be None, an integer seed or a numpy Generator, got {rng!r}")
    try:
        generator = np.random.default_rng(rng)
    except (TypeError, ValueError) as error:
        raise ValueError(f"rng: {error}") from None
    return generator.spawn(count)


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
