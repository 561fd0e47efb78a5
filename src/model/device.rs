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

/// The variable candle's CPU thread pool reads for its size.
pub const THREADS_VARIABLE: &str = crate::env::THREADS;

/// Compute threads for each of `jobs` processes running at once (kernels being graded, notebooks or suites run by
/// the tests): [`THREADS_VARIABLE`] if set to a positive number, else the machine's cores shared out (at least 1).
/// Every process taking all the cores oversubscribes them: two fine-tunings of the demo model at once on 2 cores
/// took 40 s each for 30 steps with 2 threads each, 19 s with one (14 s for one alone with 2).
pub fn threads_per_job(jobs: usize) -> usize {
    if let Some(threads) = crate::env::threads() {
        return threads;
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores / jobs.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_at_once_share_the_cores_and_each_gets_one_at_least() {
        if std::env::var_os(THREADS_VARIABLE).is_some() {
            return; // the user's own setting wins; nothing to share out
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(threads_per_job(1), cores);
        assert_eq!(threads_per_job(0), cores);
        assert_eq!(threads_per_job(2), (cores / 2).max(1));
        assert_eq!(threads_per_job(cores * 4), 1);
    }
}
