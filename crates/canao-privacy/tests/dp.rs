//! DP-SGD on the digits: it learns, it spends the privacy its accountant says, and more noise
//! spends less.

use burn::tensor::Device;
use canao_ir::builders::LeNetArch;
use canao_models::assets;
use canao_privacy::dp::DpSgd;
use canao_train::data::{SplitPart, load_digits};
use canao_train::learner::Learner;
use canao_train::{ImageClassification, init_lenet};

#[test]
fn dp_sgd_learns_the_digits_and_reports_its_epsilon() {
    let dir = assets::ensure(&assets::canao_home(), assets::Asset::Digits, &mut |l| eprintln!("{l}")).unwrap();
    let task = ImageClassification {
        data: load_digits(&dir.join("digits.csv.gz")).unwrap(),
        arch: LeNetArch::default(),
        device: Device::flex().autodiff(),
    };
    let dp = DpSgd {
        epochs: 3,
        batch: 64,
        lr: 0.1,
        momentum: 0.9,
        clip: 1.0,
        noise_multiplier: 1.0,
        delta: 1e-5,
        seed: 1,
    };
    let items = task.data.split.train.clone();
    let start = init_lenet(&task.arch, 1).unwrap();
    let mut last = 0;
    let (weights, spent) = dp.train(&task, &start, &items, &mut |s, _| last = s).unwrap();
    assert_eq!(last, spent.steps);
    assert_eq!(spent.steps, (3 * items.len()).div_ceil(64) as u64);
    let accuracy = task.accuracy(&task.load(&weights).unwrap(), SplitPart::Test);
    assert!(accuracy > 0.6, "DP-SGD digits accuracy {accuracy}");
    assert!(spent.epsilon.is_finite() && spent.epsilon > 0.0, "{spent:?}");
    let quieter = DpSgd {
        noise_multiplier: 2.0,
        ..dp.clone()
    }
    .spent(items.len());
    assert!(quieter.epsilon < spent.epsilon, "{quieter:?} against {spent:?}");
    let bad = DpSgd { clip: 0.0, ..dp };
    assert!(bad.train(&task, &start, &items, &mut |_, _| {}).is_err());
}
