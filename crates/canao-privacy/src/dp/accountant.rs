//! The privacy spent by DP-SGD: Rényi differential privacy of the sampled Gaussian mechanism at
//! integer orders (Mironov, Talwar and Zhang, 2019), composed over the steps and converted to
//! (epsilon, delta) with the classic bound eps = rdp + ln(1/delta) / (alpha - 1).

/// Orders tried; the tightest is reported.
const ORDERS: std::ops::RangeInclusive<u32> = 2..=256;

/// RDP at order `alpha` of one step: each example sampled with probability `q`, Gaussian noise
/// of `sigma` times the clipping norm. For integer alpha it is
/// ln(sum_k C(alpha, k) (1-q)^(alpha-k) q^k exp((k^2 - k) / (2 sigma^2))) / (alpha - 1),
/// summed here in log space.
pub fn rdp_sampled_gaussian(q: f64, sigma: f64, alpha: u32) -> f64 {
    assert!((0.0..=1.0).contains(&q) && sigma > 0.0 && alpha >= 2);
    if q == 0.0 {
        return 0.0;
    }
    let a = f64::from(alpha);
    let terms: Vec<f64> = (0..=alpha)
        .filter(|&k| q < 1.0 || k == alpha)
        .map(|k| {
            let k = f64::from(k);
            let choose = libm::lgamma(a + 1.0) - libm::lgamma(k + 1.0) - libm::lgamma(a - k + 1.0);
            let tail = if a - k > 0.0 { (a - k) * (1.0 - q).ln() } else { 0.0 };
            choose + tail + k * q.ln() + (k * k - k) / (2.0 * sigma * sigma)
        })
        .collect();
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()) / (a - 1.0)
}

/// (epsilon, the order that gave it) after `steps` steps at sampling rate `q` and noise
/// multiplier `sigma`, for `delta`.
pub fn epsilon(q: f64, sigma: f64, steps: u64, delta: f64) -> (f64, u32) {
    ORDERS
        .map(|alpha| {
            let rdp = rdp_sampled_gaussian(q, sigma, alpha) * steps as f64;
            (rdp + (1.0 / delta).ln() / f64::from(alpha - 1), alpha)
        })
        .fold((f64::INFINITY, 0), |best, x| if x.0 < best.0 { x } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_subsampling_it_is_the_gaussian_mechanism() {
        // The Gaussian mechanism of sensitivity 1 has RDP alpha / (2 sigma^2) exactly.
        for (sigma, alpha) in [(1.0, 2), (1.5, 10), (4.0, 64)] {
            let want = f64::from(alpha) / (2.0 * sigma * sigma);
            assert!((rdp_sampled_gaussian(1.0, sigma, alpha) - want).abs() < 1e-9 * want.max(1.0));
        }
    }

    #[test]
    fn subsampling_amplifies_privacy_and_more_steps_cost_more() {
        let full = rdp_sampled_gaussian(1.0, 1.1, 8);
        let sampled = rdp_sampled_gaussian(0.01, 1.1, 8);
        assert!(sampled < full * 0.01, "{sampled} against {full}");
        // At small q the order-2 term is close to q^2 (e^(1/sigma^2) - 1).
        let q = 0.001;
        let approx = (1.0 + q * q * ((1.0f64 / (1.1 * 1.1)).exp() - 1.0)).ln();
        assert!((rdp_sampled_gaussian(q, 1.1, 2) - approx).abs() < 1e-12);
        let (e1, _) = epsilon(0.01, 1.1, 1000, 1e-5);
        let (e2, _) = epsilon(0.01, 1.1, 4000, 1e-5);
        assert!(e1 > 0.0 && e2 > e1);
        assert_eq!(rdp_sampled_gaussian(0.0, 1.0, 4), 0.0);
    }
}
