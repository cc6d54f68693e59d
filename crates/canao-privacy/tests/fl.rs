//! Federated LeNet-5 on the digits, small: it learns, the sparse arm sends a fraction of the
//! dense arm's bytes, the adversary's messages are each refused and counted, and a run stopped
//! after a round resumes to the same models and log as one that was never stopped.

use std::path::Path;

use burn::tensor::Device;
use canao_ir::builders::LeNetArch;
use canao_models::assets;
use canao_privacy::federation::ArmState;
use canao_privacy::{
    Arm, Density, Enclave, Federation, FlConfig, Keys, LocalTraining, Partition, PrivacyError, RejectionKind,
    RoundRecord,
};
use canao_train::data::load_digits;
use canao_train::{ImageClassification, init_lenet};

fn task() -> ImageClassification {
    let dir = assets::ensure(&assets::canao_home(), assets::Asset::Digits, &mut |l| eprintln!("{l}")).unwrap();
    ImageClassification {
        data: load_digits(&dir.join("digits.csv.gz")).unwrap(),
        arch: LeNetArch::default(),
        device: Device::flex().autodiff(),
    }
}

fn config(rounds: u32) -> FlConfig {
    FlConfig {
        clients: 4,
        rounds,
        sample: 1.0,
        partition: Partition::Dirichlet { alpha: 0.5 },
        local: LocalTraining {
            epochs: 2,
            batch: 32,
            lr: 0.05,
            momentum: 0.9,
        },
        density: Density::new(0.05).unwrap(),
        baseline: true,
        adversary: true,
        seed: 7,
    }
}

type Run = (Vec<RoundRecord>, Vec<ArmState>);

/// Runs (or resumes) `config` in `out`; `stop_after` makes the round callback fail after that
/// many rounds, as a kill between rounds would.
fn run(
    task: &ImageClassification,
    config: &FlConfig,
    keys: &Keys,
    out: &Path,
    stop_after: Option<usize>,
) -> Result<Run, PrivacyError> {
    let d = &task.data;
    let parts = config
        .partition
        .deal(&d.split.train, &d.labels, 10, config.clients, config.seed)?;
    let start = init_lenet(&task.arch, config.seed)?;
    let fed = Federation::new(config, task, &parts, keys, &start)?;
    let arms = config.arms().len();
    fed.run(&start, out, true, &mut |_, _, _| {}, &mut |records| match stop_after {
        Some(n) if records.len() >= n * arms => Err(PrivacyError::Hook("stopped".into())),
        _ => Ok(()),
    })
}

fn without_time(records: &[RoundRecord]) -> Vec<RoundRecord> {
    records
        .iter()
        .cloned()
        .map(|mut r| {
            r.wall_s = 0.0;
            r
        })
        .collect()
}

#[test]
fn federated_digits_learn_refuse_bad_messages_and_resume() {
    let task = task();
    let keys = Keys::generate(4);
    let config = config(6);
    let whole = tempfile::tempdir().unwrap();
    let (records, arms) = run(&task, &config, &keys, whole.path(), None).unwrap();
    records.iter().for_each(|r| eprintln!("{r:?}"));
    assert_eq!(records.len(), 12);
    let last = |arm: Arm| records.iter().rev().find(|r| r.arm == arm).unwrap();
    for arm in [Arm::Sparse, Arm::Dense] {
        assert!(last(arm).test_accuracy > 0.9, "{arm:?}: {:?}", last(arm));
    }
    let bytes = |arm: Arm| records.iter().filter(|r| r.arm == arm).map(|r| r.bytes_up).sum::<u64>();
    let ratio = bytes(Arm::Sparse) as f64 / bytes(Arm::Dense) as f64;
    assert!(ratio < 0.12, "5 % density sends {ratio:.3} of the dense bytes");
    for r in &records {
        assert_eq!(
            r.accepted, 4,
            "round {} {:?}: every genuine update accepted",
            r.round, r.arm
        );
        let count = |k: RejectionKind| r.rejected.get(&k).copied().unwrap_or(0);
        assert_eq!(count(RejectionKind::Tampered), 1);
        assert_eq!(count(RejectionKind::Replayed), 1);
        assert_eq!(count(RejectionKind::WrongClient), 1);
        assert_eq!(count(RejectionKind::WrongRound), u32::from(r.round > 0));
    }

    let cut = tempfile::tempdir().unwrap();
    assert!(run(&task, &config, &keys, cut.path(), Some(1)).is_err());
    let (resumed, resumed_arms) = run(&task, &config, &keys, cut.path(), None).unwrap();
    assert_eq!(without_time(&resumed), without_time(&records));
    for (a, b) in arms.iter().zip(&resumed_arms) {
        assert_eq!(a.enclave.model(), b.enclave.model(), "{:?}", a.arm);
        assert_eq!(a.feedback, b.feedback);
    }
}
