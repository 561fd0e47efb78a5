//! Choosing where the model runs: the CPU by default, a CUDA or Metal GPU when biaslab is built with the `cuda` or
//! `metal` feature.

use candle_core::Device;

use crate::error::{Error, Result};

/// The device named `name`: `cpu`, `cuda` (or `cuda:N`) or `metal`.
pub fn by_name(name: &str) -> Result<Device> {
    let unavailable = |err: candle_core::Error| Error::Device {
        device: name.into(),
        reason: format!("{err} (a GPU needs biaslab built with `--features cuda` or `--features metal`)"),
    };
    match name.trim().to_ascii_lowercase().as_str() {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Device::new_cuda(0).map_err(unavailable),
        "metal" => Device::new_metal(0).map_err(unavailable),
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(ordinal)) => Device::new_cuda(ordinal).map_err(unavailable),
            _ => Err(Error::Device { device: name.into(), reason: "say cpu, cuda, cuda:N or metal".into() }),
        },
    }
}
