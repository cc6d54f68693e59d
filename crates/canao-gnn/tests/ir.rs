//! A trained GCN written to the IR gives the logits of the hand-written forward on the reference
//! interpreter and on canao's CPU backend.

mod common;

use canao_cpu::CpuRuntime;
use canao_gnn::ir::to_ir;
use canao_gnn::{Adjacency, TrainConfig, Trainer};
use canao_interp::Interpreter;
use canao_ir::{Executable, Runtime, Schedule};

#[test]
fn trained_gcn_runs_through_the_ir() {
    // Awkward sizes: 53 nodes, 11 features, hidden 5, 4 classes.
    let data = common::random_dataset(53, 120, 11, 4, 3);
    let adj = Adjacency::new(&data.graph);
    let config = TrainConfig {
        hidden: 5,
        epochs: 30,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(&data, config, 1).unwrap();
    trainer.fit(&data, &adj, |_| {});
    let want = trainer.model.logits(&adj, &data.features);
    let (graph, weights, inputs) = to_ir(&trainer.model, &adj, &data.features).unwrap();
    for threads in [1, 2] {
        let interp = Interpreter
            .prepare(&graph, &weights, &Schedule { threads })
            .unwrap()
            .run(&inputs)
            .unwrap();
        let cpu = CpuRuntime
            .prepare(&graph, &weights, &Schedule { threads })
            .unwrap()
            .run(&inputs)
            .unwrap();
        for (name, got) in [("interpreter", &interp[0]), ("cpu", &cpu[0])] {
            assert_eq!(got.shape(), &[53, 4]);
            for (k, (a, b)) in got.data().iter().zip(&want).enumerate() {
                assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{name} logit {k}: {a} vs {b}");
            }
        }
    }
}
