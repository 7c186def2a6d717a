"""Small statistics shared by the analyses."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of its Student-t confidence interval; NaNs are dropped.

    The half-width is :math:`t_{(1+c)/2,\\,n-1}\\, s / \\sqrt{n}` with the sample standard
    deviation :math:`s`; it is NaN for fewer than two values (and the mean is NaN for none).

    Examples
    --------
    >>> m, h = mean_ci([1.0, 2.0, 3.0])
    >>> m, round(h, 4)                      # t(0.975, 2) = 4.3027, s = 1
    (2.0, 2.4841)
    >>> mean_ci([0.5])
    (0.5, nan)
    """
    x = np.asarray([v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))], float)
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) == 1:
        return float(x[0]), math.nan
    half = stats.t.ppf((1 + confidence) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean()), float(half)
