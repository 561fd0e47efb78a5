//! The statistics behind "numbers you can trust": bootstrap confidence intervals, permutation tests, and the Wilson
//! interval of a proportion. Every random choice is seeded, so a result can be repeated exactly.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The seed the bias tests use unless told otherwise.
pub const DEFAULT_SEED: u64 = 42;
/// The number of bootstrap resamples and of random permutations the bias tests draw unless told otherwise.
pub const DEFAULT_SAMPLES: usize = 10_000;

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Its lower end.
    pub low: f64,
    /// Its upper end.
    pub high: f64,
    /// Its confidence level (0.95 for a 95 % interval).
    pub level: f64,
}

impl Interval {
    /// Whether `value` lies inside the interval (ends included).
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let precision = f.precision().unwrap_or(3);
        write!(f, "[{:.*}, {:.*}] ({:.0} %)", precision, self.low, precision, self.high, self.level * 100.0)
    }
}

/// The arithmetic mean (NaN for no values).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The standard deviation with `ddof` degrees of freedom removed, as numpy's `np.std(values, ddof=…)`: 0 for the
/// population's, 1 for the sample's. NaN when there are no more values than `ddof`.
pub(crate) fn std_dev(values: &[f64], ddof: usize) -> f64 {
    if values.len() <= ddof {
        return f64::NAN;
    }
    let m = mean(values);
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - ddof) as f64).sqrt()
}

/// The `q`-quantile (0 ≤ q ≤ 1) of `values` with linear interpolation between order statistics, numpy's default
/// (`np.quantile(values, q)`). NaN for no values.
pub(crate) fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (below, above) = (position.floor() as usize, position.ceil() as usize);
    sorted[below] + (sorted[above] - sorted[below]) * (position - below as f64)
}

/// A percentile bootstrap confidence interval (Efron & Tibshirani 1993, ch. 13): `statistic` is computed on
/// `samples` resamples of the `n` units drawn with replacement (it gets the indices of a resample), and the interval
/// is the central `level` of those values (their (1 − level)/2 and (1 + level)/2 quantiles).
pub fn bootstrap(n: usize, statistic: impl Fn(&[usize]) -> f64, samples: usize, level: f64, seed: u64) -> Interval {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut indices = vec![0; n];
    let values: Vec<f64> = (0..samples)
        .map(|_| {
            indices.iter_mut().for_each(|i| *i = rng.random_range(0..n.max(1)));
            statistic(&indices)
        })
        .filter(|v| v.is_finite())
        .collect();
    let tail = (1.0 - level) / 2.0;
    Interval { low: quantile(&values, tail), high: quantile(&values, 1.0 - tail), level }
}

/// A paired sign-flip permutation test (Good 2005, §3.5; the paired test of Fisher 1935): under the null hypothesis
/// that the two conditions of each of `n` units are exchangeable, swapping them within a unit flips its sign.
/// `statistic` gets one sign (+1 or −1) per unit; the observed value is all +1. The p-value is the share of sign
/// patterns whose statistic is at least the observed one: over all 2ⁿ patterns when there are at most `samples` of
/// them (exact), else over `samples` random patterns, counting the observed one, as (1 + hits) / (1 + samples)
/// (Phipson & Smyth 2010), so that it is never 0.
pub(crate) fn sign_flip_p(n: usize, statistic: impl Fn(&[f64]) -> f64, samples: usize, seed: u64) -> f64 {
    let observed = statistic(&vec![1.0; n]);
    // A floating-point tolerance, so that the observed pattern's own mirror images count as ties.
    let at_least = |value: f64| value >= observed - 1e-12 * observed.abs().max(1.0);
    if n < 63 && (1u64 << n) <= samples as u64 {
        let patterns = 1u64 << n;
        let mut signs = vec![1.0; n];
        let hits = (0..patterns)
            .filter(|pattern| {
                signs.iter_mut().enumerate().for_each(|(i, s)| *s = if pattern >> i & 1 == 1 { -1.0 } else { 1.0 });
                at_least(statistic(&signs))
            })
            .count();
        return hits as f64 / patterns as f64;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut signs = vec![1.0; n];
    let hits = (0..samples)
        .filter(|_| {
            signs.iter_mut().for_each(|s| *s = if rng.random::<bool>() { -1.0 } else { 1.0 });
            at_least(statistic(&signs))
        })
        .count();
    (1 + hits) as f64 / (1 + samples) as f64
}

/// The z value of a two-sided `level` interval of the standard normal distribution (1.959964 for 0.95).
pub(crate) fn normal_z(level: f64) -> f64 {
    inverse_normal_cdf(1.0 - (1.0 - level) / 2.0)
}

/// The Wilson score interval of a proportion, `successes` out of `n` (Wilson 1927; recommended by Brown, Cai &
/// DasGupta 2001 over the normal-approximation interval, which fails near 0 and 1). For `n` = 0 it is [0, 1].
pub(crate) fn wilson(successes: usize, n: usize, level: f64) -> Interval {
    if n == 0 {
        return Interval { low: 0.0, high: 1.0, level };
    }
    let z = normal_z(level);
    let (n, p) = (n as f64, successes as f64 / n as f64);
    let denominator = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denominator;
    // The ends are exactly 0 and 1 at none and all successes; say so rather than leave a rounding error.
    let low = if successes == 0 { 0.0 } else { (centre - half).max(0.0) };
    let high = if p == 1.0 { 1.0 } else { (centre + half).min(1.0) };
    Interval { low, high, level }
}

/// The standard normal quantile function, by Acklam's rational approximation refined with one Halley step
/// (relative error below 1e-15).
#[allow(clippy::excessive_precision)] // Acklam's published coefficients, digit for digit
fn inverse_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let low = 0.02425;
    let x = if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley step with the complementary error function.
    let e = 0.5 * erfc(-x / std::f64::consts::SQRT_2) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// The complementary error function (W. J. Cody's rational Chebyshev approximation as in Numerical Recipes'
/// `erfcc`, relative error below 1.2e-7; enough for one refinement step).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.26551223
            + t * (1.00002368
                + t * (0.37409196
                    + t * (0.09678418
                        + t * (-0.18628806
                            + t * (0.27886807
                                + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// `np.mean` of a list of Python floats, summed the way NumPy (≥ 1.25) sums a float64 array: the ufunc's identity 0
/// plus NumPy's pairwise summation (`pairwise_sum` of `numpy/_core/src/umath/loops_utils.h.src`: a plain loop below
/// 8 values, 8 accumulators up to 128, halves beyond), then divided by the count. NaN for no values (NumPy warns and
/// returns NaN).
pub(crate) fn numpy_mean(values: &[f64]) -> f64 {
    (0.0 + pairwise_sum(values)) / values.len() as f64
}

fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        a.iter().fold(-0.0, |sum, &x| sum + x)
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.iter_mut().zip(a).for_each(|(r, &x)| *r = x);
        let whole = n - n % 8;
        for block in a[8..whole].chunks_exact(8) {
            r.iter_mut().zip(block).for_each(|(r, &x)| *r += x);
        }
        let head = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        a[whole..].iter().fold(head, |sum, &x| sum + x)
    } else {
        let half = n / 2;
        let half = half - half % 8;
        pairwise_sum(&a[..half]) + pairwise_sum(&a[half..])
    }
}

/// Ranks (1-based) with ties given their average rank, as scipy.stats.rankdata's default.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let average = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = average;
        }
        start = end;
    }
    ranks
}

/// Spearman's rank correlation (Pearson's correlation of average ranks, as scipy.stats.spearmanr); None with fewer
/// than 3 pairs or a constant side.
pub(crate) fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 3 {
        return None;
    }
    let (rx, ry) = (ranks(x), ranks(y));
    let (mx, my) = (mean(&rx), mean(&ry));
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = rx.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = ry.iter().map(|b| (b - my).powi(2)).sum();
    if vx == 0.0 || vy == 0.0 {
        return None;
    }
    Some(cov / (vx * vy).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_deviations_match_numpy() {
        // np.quantile([1, 2, 3, 4], [0.025, 0.5, 0.975]) = [1.075, 2.5, 3.925]; np.std([1, 2, 3, 4], ddof=1) = 1.2909944
        let v = [4.0, 1.0, 3.0, 2.0];
        assert!((quantile(&v, 0.025) - 1.075).abs() < 1e-12);
        assert!((quantile(&v, 0.5) - 2.5).abs() < 1e-12);
        assert!((quantile(&v, 0.975) - 3.925).abs() < 1e-12);
        assert!((std_dev(&v, 1) - 1.2909944487358056).abs() < 1e-12);
        assert!((std_dev(&v, 0) - 1.118033988749895).abs() < 1e-12);
        assert!(std_dev(&[1.0], 1).is_nan());
    }

    #[test]
    fn the_normal_quantile_is_right() {
        // scipy.stats.norm.ppf(0.975) = 1.959963984540054, ppf(0.995) = 2.5758293035489004, ppf(0.01) = -2.3263478740408408
        assert!((normal_z(0.95) - 1.959963984540054).abs() < 1e-6);
        assert!((normal_z(0.99) - 2.5758293035489004).abs() < 1e-6);
        assert!((inverse_normal_cdf(0.01) + 2.3263478740408408).abs() < 1e-6);
    }

    #[test]
    fn wilson_matches_statsmodels() {
        // statsmodels.stats.proportion.proportion_confint(7, 10, method="wilson") = (0.3967781, 0.8922087)
        let i = wilson(7, 10, 0.95);
        assert!((i.low - 0.39677815).abs() < 1e-6 && (i.high - 0.89220873).abs() < 1e-6, "{i:?}");
        let none = wilson(0, 20, 0.95);
        assert_eq!(none.low, 0.0);
        assert!((none.high - 0.16112516).abs() < 1e-6, "{none:?}");
        assert_eq!(wilson(0, 0, 0.95), Interval { low: 0.0, high: 1.0, level: 0.95 });
    }

    #[test]
    fn an_exact_sign_flip_test_counts_every_pattern() {
        // Differences 1, 2, 3: the statistic is their signed mean. Of the 8 patterns, only all-plus reaches 2.
        let d = [1.0, 2.0, 3.0];
        let stat = |s: &[f64]| s.iter().zip(&d).map(|(s, d)| s * d).sum::<f64>() / 3.0;
        assert_eq!(sign_flip_p(3, stat, 10_000, 1), 1.0 / 8.0);
        // |mean|: all-plus and all-minus both reach it.
        let abs = |s: &[f64]| stat(s).abs();
        assert_eq!(sign_flip_p(3, abs, 10_000, 1), 2.0 / 8.0);
        // With fewer samples than patterns it samples, and the p-value is never 0.
        let p = sign_flip_p(20, |s: &[f64]| s.iter().sum::<f64>(), 1000, 7);
        assert!(p > 0.0 && p < 0.01, "{p}");
    }

    #[test]
    fn the_bootstrap_brackets_the_mean_and_repeats_with_its_seed() {
        let values: Vec<f64> = (0..50).map(|i| (i % 7) as f64).collect();
        let stat = |idx: &[usize]| idx.iter().map(|&i| values[i]).sum::<f64>() / idx.len() as f64;
        let a = bootstrap(values.len(), stat, 2000, 0.95, 3);
        assert!(a.contains(mean(&values)) && a.low < a.high, "{a:?}");
        assert_eq!(a, bootstrap(values.len(), stat, 2000, 0.95, 3));
    }

    #[test]
    fn numpy_mean_sums_like_numpy() {
        assert_eq!(numpy_mean(&[1.0, 2.0, 4.0]), 7.0 / 3.0);
        // 10 values: 8 accumulators, then the rest; exact here, so the mean is exact.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(numpy_mean(&v), 5.5);
        // The 8-accumulator order differs from a left-to-right sum: 1e16 + 1 + 1 ... loses the ones left to right,
        // but NumPy adds the ones in their own accumulators first.
        let mut v = vec![1e16];
        v.extend([1.0; 15]);
        let sequential = v.iter().fold(0.0, |s, &x| s + x);
        assert_eq!(sequential, 1e16);
        // accumulators: r0 = 1e16 + 1 (= 1e16), r1..r7 = 2 each → 1e16 + 14.
        assert_eq!(pairwise_sum(&v), 1e16 + 14.0);
        assert!(numpy_mean(&[]).is_nan());
    }

    #[test]
    fn spearman_matches_scipy_with_ties() {
        // scipy.stats.spearmanr([1, 2, 2, 4, 5], [5, 6, 7, 8, 7]) = 0.7631578947368421
        let rho = spearman(&[1.0, 2.0, 2.0, 4.0, 5.0], &[5.0, 6.0, 7.0, 8.0, 7.0]).unwrap();
        assert!((rho - 0.7631578947368421).abs() < 1e-12, "{rho}");
        assert_eq!(spearman(&[1.0, 2.0], &[2.0, 1.0]), None);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[2.0, 1.0, 3.0]), None);
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    }
}
