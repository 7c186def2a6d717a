"""Small statistics shared by the analyses.

With the handful of seeds a study can afford, an interval says little on its own:
every summary shows the per-seed values next to it (:func:`per_seed`). Intervals
never leave the metric's range: :func:`bootstrap_ci` resamples the observed values (so
its ends lie between their minimum and maximum), :func:`wilson_interval` bounds a
proportion inside [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .. import seeding

BOOTSTRAP_RESAMPLES = 10_000


def _finite(values) -> np.ndarray:
    return np.asarray([v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))], float)


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of its Student-t confidence interval; NaNs are dropped.

    The half-width is :math:`t_{(1+c)/2,\\,n-1}\\, s / \\sqrt{n}` with the sample standard
    deviation :math:`s`; it is NaN for fewer than two values (and the mean is NaN for none).
    It assumes roughly normal values and can leave a bounded metric's range; the
    summaries use :func:`bootstrap_ci` instead.

    Examples
    --------
    >>> m, h = mean_ci([1.0, 2.0, 3.0])
    >>> m, round(h, 4)                      # t(0.975, 2) = 4.3027, s = 1
    (2.0, 2.4841)
    >>> mean_ci([0.5])
    (0.5, nan)
    """
    x = _finite(values)
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) == 1:
        return float(x[0]), math.nan
    half = stats.t.ppf((1 + confidence) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean()), float(half)


def bootstrap_ci(values, confidence: float = 0.95, *, seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` and the percentile bootstrap confidence interval of the mean.

    The interval's ends are the :math:`(1-c)/2` and :math:`(1+c)/2` quantiles of the
    means of :data:`BOOTSTRAP_RESAMPLES` resamples (with replacement, seeded), so they
    lie between the smallest and the largest value -- inside the metric's range. NaNs
    are dropped; with fewer than two values the ends are NaN. With few values the
    interval is wide and coarse: read it next to the values themselves.

    Returns
    -------
    (mean, low, high)

    Examples
    --------
    >>> mean, low, high = bootstrap_ci([0.50, 0.51, 1.00])
    >>> round(mean, 4), 0.50 <= low < mean < high <= 1.00
    (0.67, True)
    >>> bootstrap_ci([0.9])
    (0.9, nan, nan)
    """
    x = _finite(values)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    if len(x) == 1 or np.all(x == x[0]):
        return (float(x[0]), math.nan, math.nan) if len(x) == 1 else (float(x[0]), float(x[0]), float(x[0]))
    rng = seeding.rng(seed, "bootstrap_ci")
    means = x[rng.integers(0, len(x), size=(BOOTSTRAP_RESAMPLES, len(x)))].mean(axis=1)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(x.mean()), float(low), float(high)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / trials``, inside [0, 1].

    .. math:: \\frac{\\hat p + \\frac{z^2}{2n} \\pm z\\sqrt{\\frac{\\hat p(1-\\hat p)}{n}
              + \\frac{z^2}{4n^2}}}{1 + \\frac{z^2}{n}}, \\qquad z = \\Phi^{-1}\\left(\\tfrac{1+c}{2}\\right)

    Examples
    --------
    >>> [round(v, 3) for v in wilson_interval(3, 3)]
    [0.439, 1.0]
    >>> [round(v, 3) for v in wilson_interval(0, 3)]
    [0.0, 0.561]
    """
    if trials <= 0:
        return math.nan, math.nan
    z = stats.norm.ppf((1 + confidence) / 2)
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    denominator = 1 + z * z / trials
    low = 0.0 if successes == 0 else max(0.0, float((centre - spread) / denominator))
    high = 1.0 if successes == trials else min(1.0, float((centre + spread) / denominator))
    return low, high


def per_seed(values, digits: int = 3) -> str:
    """The values in seed order as one short string, ``"0.503 0.513 1"``; ``-`` for a missing one.

    A value is rounded to ``digits`` decimals, or to as many more (up to 6) as it takes
    not to round an accuracy below 1 up to 1; trailing zeros are dropped.

    Examples
    --------
    >>> per_seed([0.5031, 0.5129, 1.0, float("nan")])
    '0.503 0.513 1 -'
    >>> per_seed([0.99996, 2])
    '0.99996 2'
    """
    def one(v) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        v, d = float(v), digits
        while d < 6 and round(v, d) == round(v) != v:
            d += 1
        text = f"{v:.{d}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return " ".join(one(v) for v in values)
