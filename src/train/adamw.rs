//! AdamW's update of one tensor, computed in place on the CPU.
//!
//! The update written with candle's tensor operations ([`step_with_tensor_ops`], what every other device runs) makes
//! about ten full-size temporaries per tensor and step, each in one pass on one thread: for bert-base's 110 M numbers,
//! about a quarter of a fine-tuning step went there (measured with `perf` on `examples/finetune_bench`). candle-nn's
//! `AdamW` does the same. Here the same arithmetic runs in place, in three passes spread over the thread pool, with no
//! temporaries ([`step_in_place`]).
//!
//! Every number is bit-for-bit what the tensor operations give: each element goes through the same `f32` operations
//! in the same order (candle's `tensor * x` is `v * (x as f32) + 0.0`, `tensor / x` is `v * ((1 / x) as f32) + 0.0`,
//! `tensor + x` is `v * 1.0 + x as f32`), so training, its parity with PyTorch and the lab's numbers are unchanged.
//! The test below checks this against [`step_with_tensor_ops`].

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, InplaceOp2, InplaceOp3, Layout, Tensor, Var};
use rayon::prelude::*;

/// β₁, β₂ and ε of `torch.optim.AdamW`'s defaults.
pub(crate) const BETA1: f64 = 0.9;
pub(crate) const BETA2: f64 = 0.999;
pub(crate) const EPS: f64 = 1e-8;

/// Tensors smaller than this are updated on one thread (spreading them costs more than it saves).
const PARALLEL_FROM: usize = 1 << 15;

/// One AdamW step's settings for one tensor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    /// The learning rate.
    pub lr: f64,
    /// The weight decay (0 for biases and layer norms).
    pub decay: f64,
    /// The step, from 1 (AdamW's `t`).
    pub t: i32,
    /// The factor gradient clipping scaled the gradients by, if it did.
    pub clip: Option<f64>,
}

impl Step {
    fn corrections(&self) -> (f64, f64) {
        (1.0 - BETA1.powi(self.t), 1.0 - BETA2.powi(self.t))
    }
}

/// The update with candle's tensor operations: `theta` (the trained tensor, changed in place by [`Var::set`]), its
/// moments `m` and `v` (replaced) and its gradient `g` (as it was before clipping).
pub(crate) fn step_with_tensor_ops(
    theta: &Var,
    m: &mut Tensor,
    v: &mut Tensor,
    g: &Tensor,
    step: Step,
) -> candle_core::Result<()> {
    let g = match step.clip {
        Some(scale) => (g * scale)?,
        None => g.clone(),
    };
    let (correction1, correction2) = step.corrections();
    *m = ((&*m * BETA1)? + (&g * (1.0 - BETA1))?)?;
    *v = ((&*v * BETA2)? + (g.sqr()? * (1.0 - BETA2))?)?;
    let decayed = (theta.as_tensor() * (1.0 - step.lr * step.decay))?;
    let denominator = ((&*v / correction2)?.sqrt()? + EPS)?;
    let update = ((&*m / correction1)? / denominator)?;
    theta.set(&(decayed - (update * step.lr)?)?)
}

/// The same update, in place, for tensors on the CPU. Returns `false` (and changes nothing) when a tensor is
/// elsewhere or not `f32`, for the caller to use [`step_with_tensor_ops`]. `m` and `v` must be the caller's own
/// tensors, sharing storage with nothing (the trainer makes them with `zeros_like` or reads them from its file).
pub(crate) fn step_in_place(theta: &Var, m: &Tensor, v: &Tensor, g: &Tensor, step: Step) -> candle_core::Result<bool> {
    let all = [theta.as_tensor(), m, v, g];
    if !all.iter().all(|t| t.device().is_cpu() && t.dtype() == candle_core::DType::F32) {
        return Ok(false);
    }
    let g = g.contiguous()?;
    let scale = step.clip.map(|s| s as f32);
    m.inplace_op2(&g, &Moment::first(scale))?;
    v.inplace_op2(&g, &Moment::second(scale))?;
    theta.as_tensor().inplace_op3(m, v, &Update::new(step))?;
    Ok(true)
}

/// Where `layout`'s values lie in its storage: they must be contiguous.
fn offsets(layout: &Layout) -> candle_core::Result<std::ops::Range<usize>> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("AdamW in place needs contiguous tensors".into()))?;
    Ok(start..end)
}

/// The contiguous `f32` values of `storage` under `layout`.
fn values<'a>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f32]> {
    Ok(&storage.as_slice::<f32>()?[offsets(layout)?])
}

fn values_mut<'a>(storage: &'a mut CpuStorage, layout: &Layout) -> candle_core::Result<&'a mut [f32]> {
    let range = offsets(layout)?;
    match storage {
        CpuStorage::F32(data) => Ok(&mut data[range]),
        other => Err(candle_core::Error::Msg(format!("AdamW in place needs f32, not {:?}", other.dtype()))),
    }
}

/// `f(out, a)` element by element, over the thread pool when there are many.
fn zip2(out: &mut [f32], a: &[f32], f: impl Fn(&mut f32, f32) + Sync + Send) -> candle_core::Result<()> {
    if out.len() != a.len() {
        candle_core::bail!("AdamW in place: {} values against {}", out.len(), a.len());
    }
    if out.len() < PARALLEL_FROM {
        out.iter_mut().zip(a).for_each(|(o, &a)| f(o, a));
    } else {
        out.par_iter_mut().zip(a.par_iter()).for_each(|(o, &a)| f(o, a));
    }
    Ok(())
}

/// The gradient as the update sees it: clipped as candle's `g * scale` computes it.
#[inline]
fn clipped(g: f32, scale: Option<f32>) -> f32 {
    match scale {
        Some(s) => g * s + 0.0,
        None => g,
    }
}

/// A moment's update: `m ← m·β₁ + g·(1 − β₁)` (the first), `v ← v·β₂ + g²·(1 − β₂)` (the second).
struct Moment {
    beta: f64,
    squared: bool,
    scale: Option<f32>,
}

impl Moment {
    fn first(scale: Option<f32>) -> Self {
        Self { beta: BETA1, squared: false, scale }
    }

    fn second(scale: Option<f32>) -> Self {
        Self { beta: BETA2, squared: true, scale }
    }
}

impl InplaceOp2 for Moment {
    fn name(&self) -> &'static str {
        if self.squared {
            "adamw-second-moment"
        } else {
            "adamw-first-moment"
        }
    }

    fn cpu_fwd(&self, m: &mut CpuStorage, lm: &Layout, g: &CpuStorage, lg: &Layout) -> candle_core::Result<()> {
        let (beta, rest) = (self.beta as f32, (1.0 - self.beta) as f32);
        let Self { squared, scale, .. } = *self;
        zip2(values_mut(m, lm)?, values(g, lg)?, move |m, g| {
            let g = clipped(g, scale);
            let g = if squared { g * g } else { g };
            *m = (*m * beta + 0.0) + (g * rest + 0.0);
        })
    }
}

/// `θ ← θ·(1 − lr·λ) − lr·(m / c₁) / (√(v / c₂) + ε)`, with the constants as candle rounds them.
#[derive(Clone, Copy)]
struct Update {
    keep: f32,
    inv_correction1: f32,
    inv_correction2: f32,
    eps: f32,
    lr: f32,
}

impl Update {
    fn new(step: Step) -> Self {
        let (correction1, correction2) = step.corrections();
        Self {
            keep: (1.0 - step.lr * step.decay) as f32,
            inv_correction1: (1.0 / correction1) as f32,
            inv_correction2: (1.0 / correction2) as f32,
            eps: EPS as f32,
            lr: step.lr as f32,
        }
    }
}

impl InplaceOp3 for Update {
    fn name(&self) -> &'static str {
        "adamw-update"
    }

    fn cpu_fwd(
        &self,
        theta: &mut CpuStorage,
        lt: &Layout,
        m: &CpuStorage,
        lm: &Layout,
        v: &CpuStorage,
        lv: &Layout,
    ) -> candle_core::Result<()> {
        let theta = values_mut(theta, lt)?;
        let (m, v) = (values(m, lm)?, values(v, lv)?);
        if m.len() != theta.len() || v.len() != theta.len() {
            candle_core::bail!("AdamW in place: the moments' sizes differ from the tensor's");
        }
        let Self { keep, inv_correction1, inv_correction2, eps, lr } = *self;
        let one = |theta: &mut f32, m: f32, v: f32| {
            let decayed = *theta * keep + 0.0;
            let denominator = (v * inv_correction2 + 0.0).sqrt() * 1.0 + eps;
            let update = (m * inv_correction1 + 0.0) / denominator;
            *theta = decayed - (update * lr + 0.0);
        };
        if theta.len() < PARALLEL_FROM {
            theta.iter_mut().zip(m.iter().zip(v)).for_each(|(t, (&m, &v))| one(t, m, v));
        } else {
            theta.par_iter_mut().zip(m.par_iter().zip(v.par_iter())).for_each(|(t, (&m, &v))| one(t, m, v));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Values with every kind of magnitude, negative zeros and exact zeros among them.
    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let x = ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / (1 << 24) as f32;
                match i % 11 {
                    0 => 0.0,
                    1 => -0.0,
                    _ => (x - 0.5) * 10f32.powi((i % 7) as i32 - 4),
                }
            })
            .collect()
    }

    fn bits(t: &Tensor) -> Vec<u32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap().into_iter().map(f32::to_bits).collect()
    }

    #[test]
    fn in_place_gives_the_tensor_operations_bits() {
        let device = Device::Cpu;
        // One tensor below the parallel threshold and one above it; decay and clipping on and off; several steps.
        for (n, decay, clip) in [(1000, 0.01, None), (PARALLEL_FROM * 3 + 17, 0.0, Some(0.37)), (5000, 0.1, Some(1.0))]
        {
            let theta_a = Var::from_vec(values(n, 1), n, &device).unwrap();
            let theta_b = Var::from_vec(values(n, 1), n, &device).unwrap();
            let (mut m_a, mut v_a) = (
                Tensor::zeros(n, candle_core::DType::F32, &device).unwrap(),
                Tensor::zeros(n, candle_core::DType::F32, &device).unwrap(),
            );
            let (m_b, v_b) = (m_a.copy().unwrap(), v_a.copy().unwrap());
            for t in 1..=4 {
                let g = Tensor::from_vec(values(n, 7 * t as u32), n, &device).unwrap();
                let step = Step { lr: 5e-5 * t as f64, decay, t, clip };
                step_with_tensor_ops(&theta_a, &mut m_a, &mut v_a, &g, step).unwrap();
                assert!(step_in_place(&theta_b, &m_b, &v_b, &g, step).unwrap());
                assert_eq!(bits(&m_a), bits(&m_b), "m, n {n}, step {t}");
                assert_eq!(bits(&v_a), bits(&v_b), "v, n {n}, step {t}");
                assert_eq!(bits(theta_a.as_tensor()), bits(theta_b.as_tensor()), "theta, n {n}, step {t}");
            }
        }
    }

    #[test]
    fn a_strided_gradient_is_read_in_order() {
        let device = Device::Cpu;
        let theta_a = Var::from_vec(values(64, 3), (8, 8), &device).unwrap();
        let theta_b = Var::from_vec(values(64, 3), (8, 8), &device).unwrap();
        let zeros = || Tensor::zeros((8, 8), candle_core::DType::F32, &device).unwrap();
        let (mut m_a, mut v_a, m_b, v_b) = (zeros(), zeros(), zeros(), zeros());
        let g = Tensor::from_vec(values(64, 5), (8, 8), &device).unwrap().t().unwrap();
        let step = Step { lr: 1e-3, decay: 0.01, t: 1, clip: None };
        step_with_tensor_ops(&theta_a, &mut m_a, &mut v_a, &g, step).unwrap();
        assert!(step_in_place(&theta_b, &m_b, &v_b, &g, step).unwrap());
        assert_eq!(bits(theta_a.as_tensor()), bits(theta_b.as_tensor()));
    }
}
