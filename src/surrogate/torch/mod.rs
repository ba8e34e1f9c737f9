//! libtorch surrogates: the only place that imports `tch`.
//!
//! [`gp`] holds an exact Gaussian-process surrogate (one GP per objective, Matérn-5/2 ARD
//! kernel, hyperparameters fitted by maximizing the log marginal likelihood; Rasmussen &
//! Williams, *Gaussian Processes for Machine Learning*, MIT Press 2006, ch. 2 and § 4.2).
//! [`joint`] holds the joint neural surrogates of objectives and constraint satisfaction
//! (Gressmann et al. 2026) on the bodies of [`networks`] (`mlp`, and the ResNet of Gorishniy
//! et al., NeurIPS 2021) and [`ft_transformer`] (their FT-Transformer), trained by [`training`]
//! on targets normalized by [`targets`] and [`constraint_targets`];
//! [`ensemble`] averages several of them (deep ensembles, Lakshminarayanan et al. 2017).
//!
//! This module holds what every libtorch surrogate shares: choosing a [`tch::Device`] from a
//! [`DeviceChoice`], converting rows (`&[Vec<f64>]`) to and from `f64` tensors with the data
//! checks the [`SurrogateError::BadData`] contract asks for, and turning a [`tch::TchError`]
//! into [`SurrogateError::Torch`] (see [`TorchResultExt::context`]). Surrogate code calls the
//! fallible `f_*` tensor methods so that a libtorch failure (a shape error, a CUDA
//! out-of-memory) is an error value, never a panic.

pub mod constraint_targets;
pub mod ensemble;
pub mod ft_transformer;
pub mod gp;
pub mod joint;
pub mod lbfgs;
pub mod networks;
pub mod precision;
pub mod targets;
pub mod training;

use tch::{Device, Kind, TchError, Tensor};

use super::{DeviceChoice, SurrogateError};

/// Resolves a [`DeviceChoice`] to a libtorch device.
///
/// `Auto` is the first CUDA device when one is visible, else the CPU; `Cuda` without a visible
/// GPU is [`SurrogateError::DeviceUnavailable`].
/// Set the number of threads libtorch uses for one operation (process-wide). libtorch's
/// default is every core (or `OMP_NUM_THREADS`); when several processes share a node, more
/// threads than cores make its OpenMP workers spin against each other and training slows down
/// by an order of magnitude, so HPC runs should set this to the cores each rank owns.
pub fn set_threads(threads: usize) {
    tch::set_num_threads(threads.max(1) as i32);
}

pub fn resolve_device(choice: DeviceChoice) -> Result<Device, SurrogateError> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Auto if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        DeviceChoice::Auto => Ok(Device::Cpu),
        DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        DeviceChoice::Cuda => Err(SurrogateError::DeviceUnavailable("cuda".to_string())),
    }
}

/// Wraps a libtorch error as [`SurrogateError::Torch`], naming what was being done.
///
/// libtorch appends a C++ backtrace to its messages; only the text before it is kept.
pub fn torch_error(context: &'static str, error: TchError) -> SurrogateError {
    let message = error.to_string();
    let message = match message.split_once("\nException raised from") {
        Some((head, _)) => head.to_string(),
        None => message,
    };
    SurrogateError::Torch { context, message }
}

/// `result.context("what was being done")?` for libtorch results.
pub trait TorchResultExt<T> {
    /// Maps the error into [`SurrogateError::Torch`] with the given context.
    fn context(self, context: &'static str) -> Result<T, SurrogateError>;
}

impl<T> TorchResultExt<T> for Result<T, TchError> {
    fn context(self, context: &'static str) -> Result<T, SurrogateError> {
        self.map_err(|error| torch_error(context, error))
    }
}

/// Checks that every row has `width` finite values; the error names `label` and the row.
pub fn validate_rows(rows: &[Vec<f64>], width: usize, label: &str) -> Result<(), SurrogateError> {
    for (index, row) in rows.iter().enumerate() {
        if row.len() != width {
            return Err(SurrogateError::BadData(format!(
                "{label} row {index} has {} values, expected {width}",
                row.len()
            )));
        }
        if let Some(column) = row.iter().position(|value| !value.is_finite()) {
            return Err(SurrogateError::BadData(format!(
                "{label} row {index} has a non-finite value in column {column}"
            )));
        }
    }
    Ok(())
}

/// Converts rows of `width` finite values into an `f64` tensor `[rows, width]` on `device`.
///
/// Ragged or non-finite rows are [`SurrogateError::BadData`] naming `label` and the row.
pub fn rows_to_tensor(
    rows: &[Vec<f64>],
    width: usize,
    label: &str,
    device: Device,
) -> Result<Tensor, SurrogateError> {
    validate_rows(rows, width, label)?;
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let row_count = i64::try_from(rows.len())
        .map_err(|_| SurrogateError::BadData(format!("{label} has too many rows")))?;
    let column_count = i64::try_from(width)
        .map_err(|_| SurrogateError::BadData(format!("{label} rows are too wide")))?;
    Tensor::f_from_slice(&flat)
        .context("building a tensor from rows")?
        .f_view([row_count, column_count])
        .context("shaping a tensor from rows")?
        .f_to(device)
        .context("moving rows to the device")
}

/// Reads a 2-D tensor back as rows of `f64` (any device, any floating kind).
pub fn tensor_to_rows(tensor: &Tensor) -> Result<Vec<Vec<f64>>, SurrogateError> {
    let (row_count, column_count) = tensor.size2().context("reading a 2-D tensor's shape")?;
    let flat = tensor_to_vec(tensor)?;
    let width = usize::try_from(column_count).unwrap_or(0);
    let rows = usize::try_from(row_count).unwrap_or(0);
    if width == 0 {
        return Ok(vec![Vec::new(); rows]);
    }
    Ok(flat.chunks(width).map(<[f64]>::to_vec).collect())
}

/// Reads any tensor back as a flat `Vec<f64>` in row-major order.
pub fn tensor_to_vec(tensor: &Tensor) -> Result<Vec<f64>, SurrogateError> {
    let flat = tensor
        .f_to(Device::Cpu)
        .context("moving a tensor to the CPU")?
        .f_to_kind(Kind::Double)
        .context("converting a tensor to f64")?
        .f_contiguous()
        .context("making a tensor contiguous")?
        .f_flatten(0, -1)
        .context("flattening a tensor")?;
    Vec::<f64>::try_from(&flat).context("reading a tensor back")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let rows = vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]];
        let tensor = rows_to_tensor(&rows, 3, "x", Device::Cpu).unwrap();
        assert_eq!(tensor.size(), vec![2, 3]);
        assert_eq!(tensor_to_rows(&tensor).unwrap(), rows);
    }

    #[test]
    fn empty_rows_make_an_empty_tensor() {
        let tensor = rows_to_tensor(&[], 4, "x", Device::Cpu).unwrap();
        assert_eq!(tensor.size(), vec![0, 4]);
        assert!(tensor_to_rows(&tensor).unwrap().is_empty());
    }

    #[test]
    fn ragged_and_non_finite_rows_are_named() {
        let ragged = vec![vec![1.0, 2.0], vec![3.0]];
        let error = rows_to_tensor(&ragged, 2, "x", Device::Cpu).unwrap_err();
        assert!(matches!(&error, SurrogateError::BadData(m) if m.contains("row 1")));
        let non_finite = vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![f64::NAN, 0.0]];
        let error = rows_to_tensor(&non_finite, 2, "x", Device::Cpu).unwrap_err();
        assert!(matches!(&error, SurrogateError::BadData(m) if m.contains("row 2")));
    }

    #[test]
    fn cpu_always_resolves_and_cuda_needs_a_gpu() {
        assert_eq!(resolve_device(DeviceChoice::Cpu).unwrap(), Device::Cpu);
        let auto = resolve_device(DeviceChoice::Auto).unwrap();
        let cuda = resolve_device(DeviceChoice::Cuda);
        if tch::Cuda::is_available() {
            assert_eq!(auto, Device::Cuda(0));
            assert_eq!(cuda.unwrap(), Device::Cuda(0));
        } else {
            assert_eq!(auto, Device::Cpu);
            assert!(matches!(cuda, Err(SurrogateError::DeviceUnavailable(_))));
        }
    }
}
