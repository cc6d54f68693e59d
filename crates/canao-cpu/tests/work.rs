//! The work the plan reports lines up with what the executor times, and counts what it should.

use canao_cpu::CpuRuntime;
use canao_interp::random::{random_inputs, random_weights};
use canao_ir::builders::{BertArch, BertLayer, LinearArch};
use canao_ir::{Activation, BitMask, KernelClass, ReportsWork, Runtime, Schedule, Sparsity, StripHeight, WeightFormat};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const DENSE: KernelClass = KernelClass::Linear(WeightFormat::Dense);

#[test]
fn work_lines_up_with_the_profile_step_for_step() {
    let arch = BertArch {
        vocab: 50,
        seq: 7,
        layers: vec![
            BertLayer {
                hidden: 384,
                heads: 3,
                ffn: 100
            };
            2
        ],
        ..BertArch::minilm(7)
    };
    let mut g = arch.build().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let w = random_weights(&g, &mut rng);
    // One block-sparse weight (4x4 blocks, every other block row kept).
    let grid = (96 / 4) * (384 / 4);
    let mask = BitMask((0..grid).map(|i| (i / 96) % 2 == 0).collect());
    g.set_sparsity("enc.1.attn.q.w", Sparsity::Block { block: [4, 4], mask })
        .unwrap();
    let inputs = random_inputs(&g, &mut rng, 50);
    let mut exe = CpuRuntime.prepare(&g, &w, &Schedule { threads: 1 }).unwrap();
    let work = exe.work();
    let profile = exe.profile(&inputs).unwrap();
    assert_eq!(work.len(), profile.len());
    for (w, (class, _)) in work.iter().zip(&profile) {
        assert_eq!(w.class, *class);
    }
    assert_eq!(work.last().unwrap().class, KernelClass::Io);
    let h4 = KernelClass::Linear(WeightFormat::Block(Some(StripHeight::H4)));
    let block: Vec<_> = work.iter().filter(|w| w.class == h4).collect();
    assert_eq!(block.len(), 1);
    // Half of q's 96 x 384 weights kept, times 7 tokens, all in strips 4 rows high.
    assert_eq!(block[0].work.macs_h4, (96 * 384 / 2 * 7) as f64);
    assert_eq!(block[0].work.macs, 0.0);
    // The dense FFN-in of layer 0: 100 x 384 x 7 multiply-accumulates, with GELU fused.
    let ffn = work
        .iter()
        .find(|w| w.class == DENSE && w.work.macs == (100 * 384 * 7) as f64)
        .expect("the FFN-in step");
    // GELU runs over whole padded rows of tokens.
    assert_eq!(ffn.work.transcendentals, (100 * canao_cpu::padded(7)) as f64);
    assert_eq!(ffn.work.weight_bytes, (4 * 100 * 384) as f64);
}

#[test]
fn more_tokens_or_weights_never_mean_less_work() {
    let count = |tokens, output| {
        let g = LinearArch {
            tokens,
            input: 64,
            output,
            bias: true,
            act: Activation::Gelu,
        }
        .build()
        .unwrap();
        let w = random_weights(&g, &mut ChaCha8Rng::seed_from_u64(2));
        let exe = CpuRuntime.prepare(&g, &w, &Schedule { threads: 1 }).unwrap();
        exe.work().into_iter().find(|s| s.class == DENSE).unwrap().work.values()
    };
    let base = count(10, 32);
    for bigger in [count(11, 32), count(10, 33)] {
        assert!(base.iter().zip(&bigger).all(|(a, b)| a <= b), "{base:?} vs {bigger:?}");
    }
}
