//! The synthetic graph generator: the sizes asked for, a disjoint Planetoid-shaped split, the
//! same graph for the same seed, and a file the loader accepts.

use canao_gnn::Dataset;
use canao_gnn::synth::SynthConfig;

fn small() -> SynthConfig {
    SynthConfig {
        nodes: 1800,
        edges: 4000,
        features: 60,
        classes: 3,
        words: 10,
        ..SynthConfig::default()
    }
}

#[test]
fn generates_the_asked_sizes_and_split() {
    let d = small().generate(1).unwrap();
    assert_eq!(
        (d.nodes(), d.graph.edge_count(), d.features.dims(), d.classes),
        (1800, 4000, 60, 3)
    );
    assert_eq!((d.train.len(), d.val.len(), d.test.len()), (60, 500, 1000));
    let mut all: Vec<usize> = d.train.iter().chain(&d.val).chain(&d.test).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 1560, "the parts are disjoint");
    for c in 0..3 {
        assert_eq!(d.train.iter().filter(|&&i| d.labels[i] == Some(c)).count(), 20);
    }
    // Homophily 0.8 asked: most edges join nodes of one class.
    let same = d.graph.edges().filter(|&(u, v)| d.labels[u] == d.labels[v]).count() as f64;
    assert!(same / 4000.0 > 0.75, "{}", same / 4000.0);
}

#[test]
fn same_seed_same_graph_and_it_loads_back() {
    let (a, b) = (small().generate(3).unwrap(), small().generate(3).unwrap());
    assert_eq!(a.graph, b.graph);
    assert_ne!(a.graph, small().generate(4).unwrap().graph);
    let path = std::env::temp_dir().join(format!("canao-gnn-synth-{}.safetensors", std::process::id()));
    a.save(&path).unwrap();
    assert_eq!(Dataset::load(&path).unwrap().graph, a.graph);
    assert!(SynthConfig { nodes: 100, ..small() }.generate(0).is_err());
    assert!(
        SynthConfig {
            homophily: 1.5,
            ..small()
        }
        .generate(0)
        .is_err()
    );
}
