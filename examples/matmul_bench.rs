//! Times candle's f32 matrix product on the CPU, the operation most of a BERT forward and backward pass is made of,
//! for the shapes `bench/compare_pipeline.py` asks about (the same shapes are timed in PyTorch beside it): how many
//! floating-point operations a second (2·m·k·n per product) it reaches on this machine, against which the model's
//! own rate is compared.
//!
//! Each shape is `m,k,n`: an (m, k) matrix times the transpose of an (n, k) one, as `candle_nn::Linear` multiplies
//! activations by a weight. The median of `--runs` products after one warm-up.
//!
//! RAYON_NUM_THREADS=2 cargo run --release --example matmul_bench -- 2048,2048,2048 896,768,3072 [--runs 10]
//! prints one JSON object: {"products": [{"m": 2048, "k": 2048, "n": 2048, "seconds": .., "gflops": ..}, ...]}

use std::time::Instant;

use candle_core::{Device, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut runs = 10usize;
    let mut shapes = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            runs = args.next().ok_or("--runs needs a number")?.parse()?;
            continue;
        }
        let dims: Vec<usize> = arg.split(',').map(str::parse).collect::<Result<_, _>>()?;
        let [m, k, n] = dims[..] else { return Err(format!("a shape is m,k,n, not {arg}").into()) };
        shapes.push((m, k, n));
    }
    if shapes.is_empty() {
        return Err("give shapes as m,k,n (e.g. 2048,2048,2048)".into());
    }
    let device = Device::Cpu;
    let mut products = Vec::new();
    for (m, k, n) in shapes {
        let a = Tensor::randn(0f32, 1.0, (m, k), &device)?;
        let b = Tensor::randn(0f32, 1.0, (n, k), &device)?;
        let product = || a.matmul(&b.t()?);
        product()?; // warm-up: the thread pool started, the pages of the result's size touched once
        let mut seconds = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            let start = Instant::now();
            let c = product()?;
            seconds.push(start.elapsed().as_secs_f64());
            drop(c);
        }
        seconds.sort_by(f64::total_cmp);
        let median = seconds[seconds.len() / 2];
        let gflops = 2.0 * (m * k * n) as f64 / median / 1e9;
        products.push(serde_json::json!({"m": m, "k": k, "n": n, "seconds": median, "gflops": gflops}));
    }
    println!("{}", serde_json::json!({ "products": products }));
    Ok(())
}
