//! Electrophysiological features of soma voltage traces sampled every `dt` ms: spikes,
//! spike threshold and amplitude, firing rate, inter-spike intervals (ISIs), input resistance
//! and the membrane time constant — the measurements of the motoneuron benchmark (after the
//! current-clamp analysis of Bhatt et al. 2004, J Neurosci).
//!
//! - Spike: a maximal run of samples above −20 mV (its maximum not the first sample; a run
//!   cut off by the end of the trace only once it has fallen 5 mV from its maximum); its time
//!   is the time of that maximum (the peak).
//! - Threshold: with dV/dt the forward difference of the samples before the first peak, and
//!   μ, σ its mean and (population) standard deviation, the voltage at the start of the last
//!   run of samples with dV/dt ≥ μ + 2σ before the first peak.
//! - Amplitude: peak − threshold (the step's threshold for every spike of the step).
//! - ISIs: differences of successive peak times; first, last, last/first (adaptation, needs
//!   two ISIs), mean, population standard deviation, count.
//! - Input resistance: (V_min − V(t₀))/I (mV/nA = MΩ) for a hyperpolarizing step.
//! - Time constant: least-squares fit of y₀ + a·e^(−t/τ) from the first sample reaching 10 %
//!   of the peak deflection to the peak deflection (variable projection: y₀ and a are linear,
//!   τ is searched on a log grid and refined by golden section). Valid when the fit's RMSE
//!   ≤ 1 mV and the deflection's signal-to-noise ratio |ΔV|/RMSE ≥ 20.

/// Spikes are peaks above this voltage (mV).
pub const SPIKE_DETECTION_VOLTAGE: f64 = -20.0;
/// Largest RMSE (mV) of a valid time-constant fit.
pub const MAXIMUM_FIT_RMSE: f64 = 1.0;
/// Smallest signal-to-noise ratio of a valid time-constant fit.
pub const MINIMUM_SIGNAL_TO_NOISE: f64 = 20.0;
/// How far (mV) a trace that ends above the detection voltage must have fallen from its
/// maximum for that maximum to count as a spike (a plateau is not a spike).
const OPEN_SPIKE_FALL: f64 = 5.0;
/// The searched range of τ (ms).
const TAU_SEARCH_RANGE: (f64, f64) = (0.05, 1e4);
/// At most this many samples enter the exponential fit (the window is strided).
const MAXIMUM_FIT_SAMPLES: usize = 2000;

/// One detected spike.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spike {
    /// Sample index of the peak.
    pub index: usize,
    /// Peak voltage (mV).
    pub peak: f64,
}

/// The spikes of a trace: one per maximal run of samples above `detection_voltage` whose
/// maximum is not the first sample; a run still above at the end of the trace counts only if
/// the trace has fallen 5 mV below its maximum by then.
pub fn detect_spikes(trace: &[f64], detection_voltage: f64) -> Vec<Spike> {
    let mut spikes = Vec::new();
    let mut current: Option<Spike> = None;
    for (index, &voltage) in trace.iter().enumerate() {
        if voltage > detection_voltage {
            match &mut current {
                Some(spike) if voltage <= spike.peak => {}
                Some(spike) => {
                    spike.index = index;
                    spike.peak = voltage;
                }
                None => {
                    current = Some(Spike {
                        index,
                        peak: voltage,
                    })
                }
            }
        } else if let Some(spike) = current.take() {
            if spike.index > 0 {
                spikes.push(spike);
            }
        }
    }
    // Still above at the end: a spike only if it has clearly turned back down.
    if let (Some(spike), Some(&last)) = (current, trace.last()) {
        if spike.index > 0 && last <= spike.peak - OPEN_SPIKE_FALL {
            spikes.push(spike);
        }
    }
    spikes
}

/// The spike threshold (mV) before the peak at `first_peak`; None when fewer than two
/// derivative samples precede it or none reaches the criterion.
pub fn spike_threshold(trace: &[f64], time_step: f64, first_peak: usize) -> Option<f64> {
    let end = first_peak.min(trace.len().saturating_sub(1));
    if end < 2 {
        return None;
    }
    let derivative = |index: usize| (trace[index + 1] - trace[index]) / time_step;
    let count = end as f64;
    let mean = (0..end).map(derivative).sum::<f64>() / count;
    let variance = (0..end)
        .map(|index| (derivative(index) - mean).powi(2))
        .sum::<f64>()
        / count;
    let criterion = mean + 2.0 * variance.sqrt();
    let last = (0..end)
        .rev()
        .find(|&index| derivative(index) >= criterion)?;
    let mut start = last;
    while start > 0 && derivative(start - 1) >= criterion {
        start -= 1;
    }
    trace[start].is_finite().then_some(trace[start])
}

/// Summary of the inter-spike intervals of one step (ms; NaN where undefined).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsiSummary {
    pub first: f64,
    pub last: f64,
    /// last/first: needs at least two ISIs (three spikes).
    pub ratio: f64,
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    pub count: usize,
}

impl IsiSummary {
    /// From peak times (ms), in order.
    pub fn from_peak_times(times: &[f64]) -> Self {
        let intervals: Vec<f64> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
        let count = intervals.len();
        let (first, last) = match (intervals.first(), intervals.last()) {
            (Some(&first), Some(&last)) => (first, last),
            _ => (f64::NAN, f64::NAN),
        };
        let (mean, std) = if count == 0 {
            (f64::NAN, f64::NAN)
        } else {
            let mean = intervals.iter().sum::<f64>() / count as f64;
            let variance = intervals
                .iter()
                .map(|interval| (interval - mean).powi(2))
                .sum::<f64>()
                / count as f64;
            (mean, variance.sqrt())
        };
        Self {
            first,
            last,
            ratio: if count >= 2 { last / first } else { f64::NAN },
            mean,
            std,
            count,
        }
    }
}

/// Features of one current step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepFeatures {
    pub spike_count: usize,
    /// Spikes per second of the step.
    pub rate: f64,
    /// Peak times relative to the start of the trace (ms).
    pub peak_times: Vec<f64>,
    /// The threshold of the first spike (mV; NaN without spikes or when undetermined).
    pub threshold: f64,
    /// Mean of peak − threshold over the step's spikes (mV; NaN when undefined).
    pub mean_amplitude: f64,
    pub isi: IsiSummary,
}

/// Features of a trace that covers a current step of `duration` ms from its first sample.
pub fn step_features(trace: &[f64], time_step: f64, duration: f64) -> StepFeatures {
    let spikes = detect_spikes(trace, SPIKE_DETECTION_VOLTAGE);
    let peak_times: Vec<f64> = spikes
        .iter()
        .map(|spike| spike.index as f64 * time_step)
        .collect();
    let threshold = spikes
        .first()
        .and_then(|first| spike_threshold(trace, time_step, first.index))
        .unwrap_or(f64::NAN);
    let mean_amplitude = if spikes.is_empty() {
        f64::NAN
    } else {
        spikes
            .iter()
            .map(|spike| spike.peak - threshold)
            .sum::<f64>()
            / spikes.len() as f64
    };
    StepFeatures {
        spike_count: spikes.len(),
        rate: spikes.len() as f64 / (duration / 1000.0),
        isi: IsiSummary::from_peak_times(&peak_times),
        peak_times,
        threshold,
        mean_amplitude,
    }
}

/// Input resistance (MΩ) of a trace that starts at the onset of a step of `current` nA:
/// (extreme voltage − first voltage)/current, the extreme being the minimum for a
/// hyperpolarizing step and the maximum otherwise. NaN for an empty trace or zero current.
pub fn input_resistance(trace: &[f64], current: f64) -> f64 {
    let Some(&start) = trace.first() else {
        return f64::NAN;
    };
    let extreme = if current < 0.0 {
        trace.iter().copied().fold(f64::INFINITY, f64::min)
    } else {
        trace.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    };
    (extreme - start) / current
}

/// A fit of y₀ + a·e^(−t/τ) to a step response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeConstantFit {
    /// τ (ms).
    pub tau: f64,
    pub offset: f64,
    pub amplitude: f64,
    /// Root-mean-square residual (mV).
    pub rmse: f64,
    /// |peak deflection| / RMSE (∞ for an exact fit).
    pub signal_to_noise: f64,
}

impl TimeConstantFit {
    /// The fit meets the RMSE and signal-to-noise rules.
    pub fn is_valid(&self) -> bool {
        self.tau.is_finite()
            && self.rmse <= MAXIMUM_FIT_RMSE
            && self.signal_to_noise >= MINIMUM_SIGNAL_TO_NOISE
    }
}

/// Least squares of `values ≈ y₀ + a·r^k` (k = 0, 1, …): (y₀, a, sum of squared residuals).
fn project(values: &[f64], ratio: f64) -> (f64, f64, f64) {
    let count = values.len() as f64;
    let (mut basis_sum, mut basis_squares, mut value_sum, mut cross) = (0.0, 0.0, 0.0, 0.0);
    let mut basis = 1.0;
    for &value in values {
        basis_sum += basis;
        basis_squares += basis * basis;
        value_sum += value;
        cross += basis * value;
        basis *= ratio;
    }
    let determinant = count * basis_squares - basis_sum * basis_sum;
    let (offset, amplitude) = if determinant.abs() <= f64::EPSILON * count * basis_squares {
        (value_sum / count, 0.0)
    } else {
        let amplitude = (count * cross - basis_sum * value_sum) / determinant;
        ((value_sum - amplitude * basis_sum) / count, amplitude)
    };
    let mut squares = 0.0;
    let mut basis = 1.0;
    for &value in values {
        let residual = value - offset - amplitude * basis;
        squares += residual * residual;
        basis *= ratio;
    }
    (offset, amplitude, squares)
}

/// Fit the time constant of the response in `trace` (starting at the onset of a
/// hyperpolarizing step): from the first sample at 10 % of the peak deflection to the peak.
/// None when the trace does not deflect downwards or the window has fewer than 4 samples.
pub fn fit_time_constant(trace: &[f64], time_step: f64) -> Option<TimeConstantFit> {
    let start_voltage = *trace.first()?;
    let (peak_index, peak_voltage) =
        trace
            .iter()
            .copied()
            .enumerate()
            .fold((0, start_voltage), |best, (index, voltage)| {
                if voltage < best.1 {
                    (index, voltage)
                } else {
                    best
                }
            });
    let deflection = peak_voltage - start_voltage;
    if !deflection.is_finite() || deflection >= 0.0 {
        return None;
    }
    let window_start = trace
        .iter()
        .position(|&voltage| voltage - start_voltage <= 0.1 * deflection)?;
    if peak_index < window_start + 3 {
        return None;
    }
    let length = peak_index - window_start + 1;
    let stride = length.div_ceil(MAXIMUM_FIT_SAMPLES).max(1);
    let values: Vec<f64> = trace[window_start..=peak_index]
        .iter()
        .step_by(stride)
        .copied()
        .collect();
    let sample_spacing = stride as f64 * time_step;
    let squares_at = |log_tau: f64| project(&values, (-sample_spacing / log_tau.exp()).exp()).2;

    // Log grid, then golden section around the best grid point.
    const GRID: usize = 64;
    let (low, high) = (TAU_SEARCH_RANGE.0.ln(), TAU_SEARCH_RANGE.1.ln());
    let grid_step = (high - low) / (GRID - 1) as f64;
    let best_grid = (0..GRID)
        .map(|index| (index, squares_at(low + index as f64 * grid_step)))
        .fold((0, f64::INFINITY), |best, (index, squares)| {
            if squares < best.1 {
                (index, squares)
            } else {
                best
            }
        })
        .0;
    let mut left = low + best_grid.saturating_sub(1) as f64 * grid_step;
    let mut right = low + (best_grid + 1).min(GRID - 1) as f64 * grid_step;
    let golden = (5.0_f64.sqrt() - 1.0) / 2.0;
    let mut inner_left = right - golden * (right - left);
    let mut inner_right = left + golden * (right - left);
    let (mut value_left, mut value_right) = (squares_at(inner_left), squares_at(inner_right));
    while right - left > 1e-9 {
        if value_left <= value_right {
            right = inner_right;
            inner_right = inner_left;
            value_right = value_left;
            inner_left = right - golden * (right - left);
            value_left = squares_at(inner_left);
        } else {
            left = inner_left;
            inner_left = inner_right;
            value_left = value_right;
            inner_right = left + golden * (right - left);
            value_right = squares_at(inner_right);
        }
    }
    let tau = (0.5 * (left + right)).exp();
    let (offset, amplitude, squares) = project(&values, (-sample_spacing / tau).exp());
    let rmse = (squares / values.len() as f64).sqrt();
    let signal_to_noise = if rmse > 0.0 {
        deflection.abs() / rmse
    } else {
        f64::INFINITY
    };
    Some(TimeConstantFit {
        tau,
        offset,
        amplitude,
        rmse,
        signal_to_noise,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DT: f64 = 0.025;

    /// A synthetic trace: rest at −65 mV, and at each spike time a linear ramp from −50 mV
    /// (over 0.5 ms, the "threshold" region) up to `peak`, then straight back to −65 mV over
    /// 1 ms. The slow drift before the ramp is 1 mV over 20 ms.
    fn synthetic(duration: f64, spike_times: &[f64], peak: f64) -> Vec<f64> {
        let samples = (duration / DT).round() as usize + 1;
        let mut trace = vec![-65.0; samples];
        for &time in spike_times {
            let peak_index = (time / DT).round() as usize;
            // Slow approach from −66 to −50 over the 20 ms before the upstroke.
            let upstroke = (0.5 / DT) as usize;
            let approach = (20.0 / DT) as usize;
            let ramp_start = peak_index - upstroke;
            for step in 0..approach {
                let index = ramp_start - approach + step;
                trace[index] = -66.0 + 16.0 * step as f64 / approach as f64;
            }
            for step in 0..=upstroke {
                trace[ramp_start + step] = -50.0 + (peak + 50.0) * step as f64 / upstroke as f64;
            }
            let fall = (1.0 / DT) as usize;
            for step in 1..=fall {
                trace[peak_index + step] = peak - (peak + 65.0) * step as f64 / fall as f64;
            }
        }
        trace
    }

    #[test]
    fn detects_synthetic_spikes_with_times_threshold_amplitude_and_isis() {
        // Peaks at 100, 180, 280 and 400 ms: ISIs 80, 100, 120.
        let times = [100.0, 180.0, 280.0, 400.0];
        let trace = synthetic(1000.0, &times, 30.0);
        let spikes = detect_spikes(&trace, SPIKE_DETECTION_VOLTAGE);
        assert_eq!(spikes.len(), 4);
        for (spike, time) in spikes.iter().zip(times) {
            assert!((spike.index as f64 * DT - time).abs() < 1e-9);
            assert_eq!(spike.peak, 30.0);
        }
        let features = step_features(&trace, DT, 1000.0);
        assert_eq!(features.spike_count, 4);
        assert_eq!(features.rate, 4.0);
        // The steep upstroke starts at −50 mV.
        assert!(
            (features.threshold + 50.0).abs() < 1e-9,
            "{}",
            features.threshold
        );
        assert!((features.mean_amplitude - 80.0).abs() < 1e-9);
        let isi = features.isi;
        assert_eq!(isi.count, 3);
        assert!((isi.first - 80.0).abs() < 1e-9);
        assert!((isi.last - 120.0).abs() < 1e-9);
        assert!((isi.ratio - 1.5).abs() < 1e-9);
        assert!((isi.mean - 100.0).abs() < 1e-9);
        assert!((isi.std - (800.0_f64 / 3.0).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn isi_summaries_need_two_and_three_spikes() {
        let table: [(&[f64], usize, bool, bool); 4] = [
            (&[], 0, false, false),
            (&[10.0], 0, false, false),
            (&[10.0, 30.0], 1, true, false),
            (&[10.0, 30.0, 70.0], 2, true, true),
        ];
        for (times, count, first_defined, ratio_defined) in table {
            let isi = IsiSummary::from_peak_times(times);
            assert_eq!(isi.count, count);
            assert_eq!(isi.first.is_finite(), first_defined, "{times:?}");
            assert_eq!(isi.ratio.is_finite(), ratio_defined, "{times:?}");
        }
        let two = IsiSummary::from_peak_times(&[10.0, 30.0, 70.0]);
        assert_eq!((two.first, two.last, two.ratio), (20.0, 40.0, 2.0));
    }

    #[test]
    fn no_spikes_below_the_detection_voltage_or_at_the_edges() {
        let flat = vec![-60.0; 100];
        assert!(detect_spikes(&flat, SPIKE_DETECTION_VOLTAGE).is_empty());
        // Sub-threshold bumps to −25 mV are not spikes.
        let bumps: Vec<f64> = (0..1000)
            .map(|index| -60.0 + 35.0 * ((index as f64) * 0.05).sin().max(0.0))
            .collect();
        assert!(detect_spikes(&bumps, SPIKE_DETECTION_VOLTAGE).is_empty());
        // Rising at the end of the trace (maximum at the last sample), or a plateau above
        // −20 mV at the end: not a spike; falling 5 mV before the end: a spike.
        let rising: Vec<f64> = (0..100).map(|index| -60.0 + index as f64).collect();
        assert!(detect_spikes(&rising, SPIKE_DETECTION_VOLTAGE).is_empty());
        let mut plateau = vec![-60.0; 10];
        plateau.extend([-10.0, -9.0, -9.5, -9.2, -9.3]);
        assert!(detect_spikes(&plateau, SPIKE_DETECTION_VOLTAGE).is_empty());
        plateau.push(-15.0);
        let spikes = detect_spikes(&plateau, SPIKE_DETECTION_VOLTAGE);
        assert_eq!(
            spikes,
            vec![Spike {
                index: 11,
                peak: -9.0
            }]
        );
        let features = step_features(&flat, DT, 1000.0);
        assert_eq!(features.spike_count, 0);
        assert!(features.threshold.is_nan() && features.mean_amplitude.is_nan());
    }

    #[test]
    fn input_resistance_and_time_constant_of_an_exponential() {
        // V = −60 − 30·(1 − e^(−t/18)): −0.1 nA → 300 MΩ, τ = 18 ms.
        let trace: Vec<f64> = (0..=40_000)
            .map(|index| -60.0 - 30.0 * (1.0 - (-(index as f64) * DT / 18.0).exp()))
            .collect();
        let resistance = input_resistance(&trace, -0.1);
        assert!((resistance - 300.0).abs() < 1e-6, "{resistance}");
        let fit = fit_time_constant(&trace, DT).expect("fit");
        assert!((fit.tau - 18.0).abs() < 1e-4, "{fit:?}");
        assert!((fit.offset + 90.0).abs() < 1e-4 && fit.rmse < 1e-6 && fit.is_valid());
    }

    #[test]
    fn time_constant_fit_validity_rules() {
        // A noisy response (±3 mV square wave on the exponential): RMSE > 1 mV.
        let noisy: Vec<f64> = (0..=40_000)
            .map(|index| {
                let t = index as f64 * DT;
                let wave = if (index / 40) % 2 == 0 { 3.0 } else { -3.0 };
                -60.0 - 30.0 * (1.0 - (-t / 18.0).exp()) + if index > 0 { wave } else { 0.0 }
            })
            .collect();
        let fit = fit_time_constant(&noisy, DT).expect("fit");
        assert!(fit.rmse > MAXIMUM_FIT_RMSE && !fit.is_valid(), "{fit:?}");
        // A small deflection (2 mV) with 0.2 mV of noise: RMSE fine, SNR ≈ 10 < 20.
        let small: Vec<f64> = (0..=40_000)
            .map(|index| {
                let t = index as f64 * DT;
                let wave = if (index / 40) % 2 == 0 { 0.2 } else { -0.2 };
                -60.0 - 2.0 * (1.0 - (-t / 18.0).exp()) + if index > 0 { wave } else { 0.0 }
            })
            .collect();
        let fit = fit_time_constant(&small, DT).expect("fit");
        assert!(fit.rmse <= MAXIMUM_FIT_RMSE, "{fit:?}");
        assert!(fit.signal_to_noise < MINIMUM_SIGNAL_TO_NOISE && !fit.is_valid());
        // Depolarizing or flat: no fit.
        assert!(fit_time_constant(&[-60.0; 100], DT).is_none());
        let rising: Vec<f64> = (0..100).map(|index| -60.0 + index as f64 * 0.1).collect();
        assert!(fit_time_constant(&rising, DT).is_none());
    }
}
