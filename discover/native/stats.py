"""Statistics a timing claim can stand on (pure NumPy; no timing here, easy to test).

- Per candidate: the median, the 5th percentile (AlphaDev's statistic: the least
  disturbed runs) and a distribution-free confidence interval of the median from order
  statistics (the sign test inverted: with B ~ Binomial(n, 1/2) samples below the true
  median, ``[x_(l), x_(n+1-l)]`` covers it with probability ``1 - 2 P(B <= l - 1)``).
- For two candidates timed in the same rounds: the median of the per-round ratios, with
  the same order-statistic interval over those ratios. A round's drift (frequency
  scaling, another process, the cache state) multiplies both of its samples, so it
  cancels in their ratio: the paired interval is far narrower than one from unpaired
  samples when rounds share a drift. ``unpaired_ratio`` (a bootstrap of the ratio of
  medians, fixed seed) is the comparison for samples not taken together.
- A ratio is *significant* when its interval excludes 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CONFIDENCE", "Ratio", "Summary", "median_ci", "median_ci_ranks", "paired_ratio",
           "summarize_samples", "unpaired_ratio"]

CONFIDENCE = 0.95
"""Default confidence of every interval."""


@dataclass(frozen=True)
class Summary:
    """One candidate's samples, summarised."""

    median: float
    p5: float
    """The 5th percentile."""
    lo: float
    """Lower end of the median's confidence interval."""
    hi: float
    """Upper end of the median's confidence interval."""
    n: int
    """Samples."""
    confidence: float = CONFIDENCE
    """Nominal coverage of [lo, hi] (the actual one is at least this when n >= 6 at 95%)."""


@dataclass(frozen=True)
class Ratio:
    """Candidate A's time over candidate B's, with a confidence interval."""

    ratio: float
    """Below 1: A is faster."""
    lo: float
    hi: float
    n: int
    """Pairs (paired) or the smaller sample (unpaired) it rests on."""
    paired: bool
    """True when computed from same-round pairs."""
    confidence: float = CONFIDENCE

    @property
    def significant(self) -> bool:
        """The interval excludes 1.0: A and B differ at this confidence."""
        return bool(self.lo > 1.0 or self.hi < 1.0)


def _half_binomial_cdf(n: int) -> np.ndarray:
    """``float64[n + 1]``: P(B <= k) for B ~ Binomial(n, 1/2), in logs (no underflow)."""
    k = np.arange(1, n + 1, dtype=np.float64)
    log_choose = np.concatenate([[0.0], np.cumsum(np.log(n - k + 1) - np.log(k))])
    return np.cumsum(np.exp(log_choose - n * np.log(2.0)))


def median_ci_ranks(n: int, confidence: float = CONFIDENCE) -> tuple[int, int]:
    """0-based ranks ``(l, u)`` into n sorted samples bounding the median's interval.

    The widest symmetric pair with coverage at least ``confidence``; for n too small to
    reach it, the extremes (0, n - 1).
    """
    if n < 1:
        raise ValueError("no samples")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    cdf = _half_binomial_cdf(n)
    # The largest count l with P(B <= l - 1) <= alpha / 2 (1-based x_(l)); at least 1.
    count = int(np.searchsorted(cdf, (1.0 - confidence) / 2.0, side="right"))
    lower = max(count, 1) - 1
    return lower, n - 1 - lower


def median_ci(samples, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Distribution-free confidence interval of the median (NaNs when no samples)."""
    x = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    if x.size == 0:
        return float("nan"), float("nan")
    lower, upper = median_ci_ranks(x.size, confidence)
    return float(x[lower]), float(x[upper])


def summarize_samples(samples, confidence: float = CONFIDENCE) -> Summary:
    """Median, 5th percentile and the median's interval of ``samples``."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    if x.size == 0:
        nan = float("nan")
        return Summary(nan, nan, nan, nan, 0, confidence)
    lo, hi = median_ci(x, confidence)
    return Summary(float(np.median(x)), float(np.percentile(x, 5)), lo, hi, int(x.size),
                   confidence)


def paired_ratio(a, b, confidence: float = CONFIDENCE) -> Ratio:
    """A over B from same-round pairs ``a[r], b[r]``: the median of ``a[r] / b[r]``.

    Rounds where B's value is not positive (noise larger than the routine) or either is
    not finite are left out; ValueError if the lengths differ, NaNs if no pair is left.
    """
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths ({a.size} and {b.size})")
    keep = np.isfinite(a) & np.isfinite(b) & (b > 0)
    ratios = a[keep] / b[keep]
    if ratios.size == 0:
        nan = float("nan")
        return Ratio(nan, nan, nan, 0, True, confidence)
    lo, hi = median_ci(ratios, confidence)
    return Ratio(float(np.median(ratios)), lo, hi, int(ratios.size), True, confidence)


def unpaired_ratio(a, b, confidence: float = CONFIDENCE, resamples: int = 2000,
                   seed: int = 0) -> Ratio:
    """median(A) / median(B) with a percentile-bootstrap interval (A and B resampled
    independently, fixed seed): for samples that were not taken in the same rounds."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0 or np.median(b) <= 0:
        nan = float("nan")
        return Ratio(nan, nan, nan, 0, False, confidence)
    rng = np.random.default_rng(seed)
    med_a = np.median(a[rng.integers(0, a.size, size=(resamples, a.size))], axis=1)
    med_b = np.median(b[rng.integers(0, b.size, size=(resamples, b.size))], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = med_a / med_b  # float64[resamples]
    boot = boot[np.isfinite(boot)]
    tail = 100.0 * (1.0 - confidence) / 2.0
    lo, hi = np.percentile(boot, [tail, 100.0 - tail])
    return Ratio(float(np.median(a) / np.median(b)), float(lo), float(hi),
                 int(min(a.size, b.size)), False, confidence)
