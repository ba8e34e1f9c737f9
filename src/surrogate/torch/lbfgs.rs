//! Full-batch L-BFGS "polish" of a trained network: after the Adam epochs, a few hundred
//! quasi-Newton iterations on every training row at once bring the network much closer to
//! the minimum of its training loss than Adam's noisy small-batch steps end.
//!
//! At the few hundred rows of an expensive optimization a network's precision near the
//! front decides how close the next batch lands to it (C2-DTLZ2: points `g ≈ 0.016` off
//! the sphere after 10 epochs). Measured offline on the rows of benchmark runs (train on the
//! rows before epoch `E`, test on the batch of epoch `E`), 200 iterations after the
//! CV-selected Adam epochs cut the objective NRMSE on the next batch by 1.3–3× (OSY 0.015 →
//! 0.005 and 0.021 → 0.014; C2-DTLZ2 0.022 → 0.016 and 0.020 → 0.016). In whole runs it
//! helps smooth objectives with valued constraints (C2-DTLZ2 with `refine`: 0.877 → 0.923 of
//! the optimum) and overfits the motoneuron's log-range objectives and pass/fail flags (0.98 →
//! 0.74), so `[surrogate] polish` is 0 (off) by default (docs/surrogates.md, "L-BFGS polish").
//!
//! libtorch's C++ L-BFGS is not exposed by `tch`, so this is written here (Nocedal & Wright,
//! "Numerical Optimization", algorithms 7.4 and 7.5): the two-loop recursion over the last
//! 20 steps (`HISTORY`), a backtracking line search with the Armijo condition, curvature pairs
//! with `yᵀs ≤ 0` skipped. The parameters are handled as one flat `f64` vector; the loss is
//! evaluated deterministically (evaluation mode: no dropout), so the search is deterministic
//! on the CPU. The iteration stops early when the loss no longer changes or becomes
//! non-finite (the parameters of the last finite, accepted point are kept).

use std::collections::VecDeque;

use tch::{Kind, Tensor};

use super::TorchResultExt;
use crate::surrogate::SurrogateError;

/// Curvature pairs kept.
const HISTORY: usize = 20;
/// Sufficient decrease constant of the Armijo condition.
const ARMIJO: f64 = 1e-4;
/// Step halvings tried before the search gives up.
const MAX_BACKTRACKS: usize = 30;
/// Relative change of the loss below which the iteration has converged.
const TOLERANCE: f64 = 1e-10;

/// What a polish did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolishReport {
    pub iterations: usize,
    pub initial_loss: f64,
    pub final_loss: f64,
}

/// Minimizes `loss()` (a scalar tensor with a graph to `parameters`) over `parameters` by up
/// to `iterations` L-BFGS iterations, updating the parameters in place.
pub fn polish(
    parameters: &[Tensor],
    iterations: usize,
    mut loss: impl FnMut() -> Result<Tensor, SurrogateError>,
) -> Result<PolishReport, SurrogateError> {
    let mut evaluate = || -> Result<(f64, Tensor), SurrogateError> {
        let value = loss()?;
        let scalar = value.f_double_value(&[]).context("reading the loss")?;
        if !scalar.is_finite() {
            return Ok((scalar, Tensor::new()));
        }
        let gradients = Tensor::f_run_backward(&[&value], parameters, false, false)
            .context("back-propagating the polish loss")?;
        Ok((scalar, flatten(&gradients)?))
    };
    let mut x = flatten(parameters)?;
    let (mut f, mut g) = evaluate()?;
    let mut report = PolishReport {
        iterations: 0,
        initial_loss: f,
        final_loss: f,
    };
    if !f.is_finite() {
        return Ok(report);
    }
    let mut history: VecDeque<(Tensor, Tensor, f64)> = VecDeque::with_capacity(HISTORY);
    for iteration in 1..=iterations {
        let mut direction = two_loop(&g, &history)?;
        let mut slope = dot(&g, &direction)?;
        if !(slope < 0.0 && slope.is_finite()) {
            history.clear();
            direction = g.f_neg().context("the steepest-descent direction")?;
            slope = -dot(&g, &g)?;
        }
        if slope.abs() <= f64::MIN_POSITIVE {
            break;
        }
        let mut step = if history.is_empty() {
            let gradient_norm = g
                .f_abs()
                .and_then(|a| a.f_sum(Kind::Double))
                .context("the gradient's norm")?
                .f_double_value(&[])
                .context("the gradient's norm")?;
            (1.0 / gradient_norm.max(f64::MIN_POSITIVE)).min(1.0)
        } else {
            1.0
        };
        let mut accepted = None;
        for _ in 0..MAX_BACKTRACKS {
            let candidate = x
                .f_add(&direction.f_mul_scalar(step).context("a trial step")?)
                .context("a trial point")?;
            assign(parameters, &candidate)?;
            let (trial_f, trial_g) = evaluate()?;
            if trial_f.is_finite() && trial_f <= f + ARMIJO * step * slope {
                accepted = Some((candidate, trial_f, trial_g));
                break;
            }
            step *= if trial_f.is_finite() { 0.5 } else { 0.1 };
        }
        let Some((candidate, new_f, new_g)) = accepted else {
            assign(parameters, &x)?;
            break;
        };
        let s = candidate.f_sub(&x).context("the step")?;
        let y = new_g.f_sub(&g).context("the gradient change")?;
        let curvature = dot(&y, &s)?;
        if curvature > 1e-12 {
            if history.len() == HISTORY {
                history.pop_front();
            }
            history.push_back((s, y, 1.0 / curvature));
        }
        let change = (f - new_f).abs();
        x = candidate;
        f = new_f;
        g = new_g;
        report.iterations = iteration;
        report.final_loss = f;
        if change <= TOLERANCE * f.abs().max(1.0) {
            break;
        }
    }
    Ok(report)
}

/// `−H·g` by the two-loop recursion; `−g` without history.
fn two_loop(
    g: &Tensor,
    history: &VecDeque<(Tensor, Tensor, f64)>,
) -> Result<Tensor, SurrogateError> {
    let mut q = g.f_detach_copy().context("the search direction")?;
    let mut alphas = Vec::with_capacity(history.len());
    for (s, y, rho) in history.iter().rev() {
        let alpha = rho * dot(s, &q)?;
        q = q
            .f_sub(&y.f_mul_scalar(alpha).context("the two-loop recursion")?)
            .context("the two-loop recursion")?;
        alphas.push(alpha);
    }
    if let Some((s, y, _)) = history.back() {
        let scale = dot(s, y)? / dot(y, y)?.max(f64::MIN_POSITIVE);
        q = q.f_mul_scalar(scale).context("the initial Hessian")?;
    }
    for ((s, y, rho), alpha) in history.iter().zip(alphas.into_iter().rev()) {
        let beta = rho * dot(y, &q)?;
        q = q
            .f_add(
                &s.f_mul_scalar(alpha - beta)
                    .context("the two-loop recursion")?,
            )
            .context("the two-loop recursion")?;
    }
    q.f_neg().context("the search direction")
}

fn dot(a: &Tensor, b: &Tensor) -> Result<f64, SurrogateError> {
    a.f_dot(b)
        .and_then(|d| d.f_double_value(&[]))
        .context("a dot product")
}

/// The tensors' elements as one `f64` vector (detached).
fn flatten(tensors: &[Tensor]) -> Result<Tensor, SurrogateError> {
    let parts = tensors
        .iter()
        .map(|t| t.f_detach().and_then(|t| t.f_reshape([-1])))
        .collect::<Result<Vec<_>, _>>()
        .context("flattening parameters")?;
    Tensor::f_cat(&parts, 0)
        .and_then(|flat| flat.f_to_kind(Kind::Double))
        .context("flattening parameters")
}

/// Writes the flat vector `values` back into `parameters`.
fn assign(parameters: &[Tensor], values: &Tensor) -> Result<(), SurrogateError> {
    tch::no_grad(|| {
        let mut offset = 0i64;
        for parameter in parameters {
            let count = parameter.numel() as i64;
            let part = values
                .f_narrow(0, offset, count)?
                .f_view(parameter.size().as_slice())?
                .f_to_kind(parameter.kind())?;
            parameter.shallow_clone().f_copy_(&part)?;
            offset += count;
        }
        Ok(())
    })
    .context("writing polished parameters")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Rosenbrock function, whose curved valley plain gradient descent crawls along:
    /// L-BFGS reaches its minimum (1, 1) in well under 200 iterations.
    #[test]
    fn polish_minimizes_the_rosenbrock_function() {
        let point = Tensor::from_slice(&[-1.2f64, 1.0]).set_requires_grad(true);
        let parameters = [point.shallow_clone()];
        let report = polish(&parameters, 200, || {
            let a = point.get(0);
            let b = point.get(1);
            let first = (a.shallow_clone() * -1.0 + 1.0).square();
            let second = (b - a.square()).square() * 100.0;
            Ok(first + second)
        })
        .unwrap();
        let solution = Vec::<f64>::try_from(&point.detach()).unwrap();
        assert!(report.initial_loss > 20.0, "{report:?}");
        assert!(report.final_loss < 1e-8, "{report:?}");
        assert!((solution[0] - 1.0).abs() < 1e-3 && (solution[1] - 1.0).abs() < 1e-3);
        assert!(report.iterations < 200, "{report:?}");
    }

    /// A non-finite loss at the start leaves the parameters as they were.
    #[test]
    fn a_non_finite_loss_stops_the_polish() {
        let point = Tensor::from_slice(&[1.0f32]).set_requires_grad(true);
        let parameters = [point.shallow_clone()];
        let report = polish(&parameters, 10, || Ok(point.log() * f64::NAN)).unwrap();
        assert_eq!(report.iterations, 0);
        assert_eq!(Vec::<f32>::try_from(&point.detach()).unwrap(), vec![1.0]);
    }
}
