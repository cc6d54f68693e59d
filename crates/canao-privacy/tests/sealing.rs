//! Sealed updates through the enclave: the round trip, every refusal, and the pieces under
//! them (top-k with error feedback, key files, partitions).

use canao_ir::Weights;
use canao_privacy::client::Client;
use canao_privacy::layout::Layout;
use canao_privacy::seal::Direction;
use canao_privacy::wire::{Part, Update};
use canao_privacy::{Density, Enclave, ErrorFeedback, InProcessEnclave, Keys, Partition, PrivacyError, Rejection};
use proptest::prelude::*;

fn tiny_model() -> Weights {
    let mut w = Weights::new();
    w.insert_dense("a.w", canao_tensor::Tensor::new(vec![2, 3], vec![1.0; 6]).unwrap());
    w.insert_dense("a.b", canao_tensor::Tensor::new(vec![2], vec![0.0; 2]).unwrap());
    w
}

/// An enclave in round 3 expecting clients 0 and 1 of 3, and client `c`'s update of `value`
/// everywhere, sealed for that round and model.
fn setup() -> (Keys, InProcessEnclave) {
    let keys = Keys::generate(3);
    let mut enclave = InProcessEnclave::new(keys.clone(), tiny_model()).unwrap();
    enclave.begin_round(3, &[0, 1]);
    (keys, enclave)
}

fn update(keys: &Keys, enclave: &InProcessEnclave, c: u32, round: u32, value: f32, samples: u32) -> Vec<u8> {
    let u = Update {
        samples,
        parts: vec![Part::Dense(vec![value; 2]), Part::Dense(vec![value; 6])],
    };
    keys.get(c)
        .unwrap()
        .seal(Direction::Up, c, round, enclave.version(), &u.encode())
}

#[test]
fn accepted_updates_are_averaged_by_samples() {
    let (keys, mut enclave) = setup();
    enclave.submit(0, &update(&keys, &enclave, 0, 3, 1.0, 1)).unwrap();
    enclave.submit(1, &update(&keys, &enclave, 1, 3, 4.0, 3)).unwrap();
    assert_eq!(enclave.finish_round().unwrap(), 2);
    // (1 * 1 + 3 * 4) / 4 = 3.25 added to the weights of 1.0.
    assert_eq!(enclave.model().dense("a.w").unwrap().data(), &[4.25; 6]);
    assert_eq!(enclave.model().dense("a.b").unwrap().data(), &[3.25; 2]);
}

#[test]
fn every_bad_message_is_refused_and_the_round_goes_on() {
    let (keys, mut enclave) = setup();
    let genuine = update(&keys, &enclave, 0, 3, 1.0, 1);
    let mut body_flip = genuine.clone();
    *body_flip.last_mut().unwrap() ^= 0x80;
    let mut header_flip = genuine.clone();
    header_flip[13] ^= 0x01; // the model version in the clear header
    let mut as_client_1 = genuine.clone();
    as_client_1[5] = 1; // rewrites the claimed client: it no longer authenticates
    let cases: Vec<(u32, Vec<u8>, Rejection)> = vec![
        (0, body_flip, Rejection::Tampered),
        (0, header_flip, Rejection::Tampered),
        (1, as_client_1, Rejection::Tampered),
        (
            0,
            {
                let mut unknown = genuine.clone();
                unknown[5] = 9; // a client the run does not have
                unknown
            },
            Rejection::Tampered,
        ),
        (1, genuine.clone(), Rejection::WrongClient { claimed: 0, slot: 1 }),
        (
            0,
            update(&keys, &enclave, 0, 2, 1.0, 1),
            Rejection::WrongRound { got: 2, want: 3 },
        ),
        (2, update(&keys, &enclave, 2, 3, 1.0, 1), Rejection::NotSampled(2)),
        (
            0,
            genuine[..20].to_vec(),
            Rejection::Malformed("20 bytes, not a sealed message".into()),
        ),
    ];
    for (slot, message, want) in cases {
        assert_eq!(enclave.submit(slot, &message), Err(want.clone()), "{want}");
    }
    // Sealed under the wrong key: client 0's header, client 1's key.
    let u = Update {
        samples: 1,
        parts: vec![Part::Dense(vec![0.0; 2]), Part::Dense(vec![0.0; 6])],
    };
    let wrong_key = keys
        .get(1)
        .unwrap()
        .seal(Direction::Up, 0, 3, enclave.version(), &u.encode());
    assert_eq!(enclave.submit(0, &wrong_key), Err(Rejection::Tampered));
    // A broadcast offered back as an update, and an update against another model.
    let down = keys
        .get(0)
        .unwrap()
        .seal(Direction::Down, 0, 3, enclave.version(), &u.encode());
    assert_eq!(enclave.submit(0, &down), Err(Rejection::WrongDirection));
    let stale = keys.get(0).unwrap().seal(Direction::Up, 0, 3, 7, &u.encode());
    assert_eq!(
        enclave.submit(0, &stale),
        Err(Rejection::StaleModel {
            got: 7,
            want: enclave.version()
        })
    );
    // A body that authenticates but is not an update of this model.
    let short = Update {
        samples: 1,
        parts: vec![Part::Dense(vec![0.0; 2])],
    };
    let odd = keys
        .get(0)
        .unwrap()
        .seal(Direction::Up, 0, 3, enclave.version(), &short.encode());
    assert!(matches!(enclave.submit(0, &odd), Err(Rejection::Malformed(_))));
    // The genuine update still goes in, once.
    enclave.submit(0, &genuine).unwrap();
    assert_eq!(enclave.submit(0, &genuine), Err(Rejection::Replayed));
    assert_eq!(enclave.finish_round().unwrap(), 1);
    assert_eq!(enclave.model().dense("a.w").unwrap().data(), &[2.0; 6]);
}

#[test]
fn a_client_opens_only_its_own_broadcast() {
    let (keys, enclave) = setup();
    let layout = Layout::of(&tiny_model()).unwrap();
    let mut fb = ErrorFeedback::zeros(&layout.lens());
    let items = [0usize];
    let client = |id: u32, fb: &mut ErrorFeedback| {
        let (key, items) = (keys.get(id).unwrap(), &items[..]);
        let (model, version) = Client {
            id,
            key,
            items,
            feedback: fb,
        }
        .receive(&enclave.broadcast(0), 3, &layout)?;
        Ok::<_, Rejection>((model, version))
    };
    let (model, version) = client(0, &mut fb).unwrap();
    assert_eq!(model, vec![vec![0.0; 2], vec![1.0; 6]]);
    assert_eq!(version, enclave.version());
    assert_eq!(client(1, &mut fb), Err(Rejection::Tampered));
}

#[test]
fn key_file_of_the_wrong_length_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("keys.bin");
    Keys::generate(4).write(&f).unwrap();
    assert_eq!(Keys::read(&f, 4).unwrap().len(), 4);
    let err = Keys::read(&f, 5).unwrap_err();
    assert!(
        matches!(&err, PrivacyError::Corrupt { file, .. } if file == &f),
        "{err}"
    );
    assert!(err.to_string().contains("128 bytes; 5 clients need 160"), "{err}");
}

proptest! {
    /// Nothing is lost: what is sent plus the new residual is the delta plus the old residual,
    /// exactly, and the sent share is the density's.
    #[test]
    fn top_k_with_error_feedback_conserves_the_update(
        values in prop::collection::vec((-10.0f32..10.0, -1.0f32..1.0), 1..200),
        density in 0.01f64..1.0,
    ) {
        let n = values.len();
        let (delta, old): (Vec<f32>, Vec<f32>) = values.into_iter().unzip();
        let mut fb = ErrorFeedback { residual: vec![old.clone()] };
        let d = Density::new(density).unwrap();
        let update = fb.compress(vec![delta.clone()], d, 1);
        let sent = update.parts[0].to_dense();
        for i in 0..n {
            prop_assert_eq!(sent[i] + fb.residual[0][i], delta[i] + old[i]);
        }
        if let Part::Sparse { indices, .. } = &update.parts[0] {
            prop_assert_eq!(indices.len(), d.keep(n));
            let smallest_sent = indices.iter().map(|&i| sent[i as usize].abs()).fold(f32::INFINITY, f32::min);
            let largest_kept = fb.residual[0].iter().map(|x| x.abs()).fold(0.0, f32::max);
            prop_assert!(smallest_sent >= largest_kept);
        }
    }
}

fn labels_of(part: &[usize], labels: &[usize]) -> [usize; 10] {
    let mut counts = [0; 10];
    part.iter().for_each(|&i| counts[labels[i]] += 1);
    counts
}

#[test]
fn dirichlet_partition_deals_every_item_once_with_label_skew() {
    let labels: Vec<usize> = (0..5000).map(|i| i % 10).collect();
    let items: Vec<usize> = (0..5000).collect();
    let skew = |alpha: f64| {
        let parts = Partition::Dirichlet { alpha }.deal(&items, &labels, 10, 10, 1).unwrap();
        let mut all: Vec<usize> = parts.concat();
        all.sort_unstable();
        assert_eq!(all, items, "every item dealt exactly once");
        assert!(parts.iter().all(|p| p.len() >= 10));
        let mut per_class = [0; 10];
        for p in &parts {
            let c = labels_of(p, &labels);
            (0..10).for_each(|k| per_class[k] += c[k]);
        }
        assert_eq!(per_class, [500; 10]);
        // Mean share of a client's largest class: 0.1 for a perfectly even deal.
        parts
            .iter()
            .map(|p| *labels_of(p, &labels).iter().max().unwrap() as f64 / p.len() as f64)
            .sum::<f64>()
            / 10.0
    };
    let (strong, weak) = (skew(0.1), skew(100.0));
    assert!(strong > 0.5, "alpha 0.1 gives strong skew: {strong}");
    assert!(weak < 0.15, "alpha 100 is nearly even: {weak}");
    assert!(
        Partition::Dirichlet { alpha: 0.0 }
            .deal(&items, &labels, 10, 10, 1)
            .is_err()
    );
}

#[test]
fn label_partition_gives_each_client_its_labels_and_iid_is_even() {
    let labels: Vec<usize> = (0..1000).map(|i| i % 10).collect();
    let items: Vec<usize> = (0..1000).collect();
    let parts = Partition::Labels { labels: 2 }
        .deal(&items, &labels, 10, 10, 3)
        .unwrap();
    for (c, p) in parts.iter().enumerate() {
        let held: Vec<usize> = (0..10).filter(|&k| labels_of(p, &labels)[k] > 0).collect();
        assert_eq!(held.len(), 2, "client {c} holds {held:?}");
        assert!(held.contains(&c), "client {c} always holds class {c}");
    }
    let iid = Partition::Iid.deal(&items, &labels, 10, 3, 3).unwrap();
    assert_eq!(iid.iter().map(Vec::len).collect::<Vec<_>>(), vec![334, 333, 333]);
    assert!(
        Partition::Labels { labels: 11 }
            .deal(&items, &labels, 10, 10, 3)
            .is_err()
    );
    assert!(Partition::Iid.deal(&items[..2], &labels, 10, 3, 3).is_err());
}
