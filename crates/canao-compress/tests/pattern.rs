//! RT3's pattern candidates and their assignment on hand-made weights.

use canao_compress::{CandidateConfig, CompressError, RT3_SPARSITY_LEVELS, assign_patterns, pattern_candidates};
use canao_ir::{BitMask, Sparsity};

fn mask(bits: &[u8]) -> BitMask {
    BitMask(bits.iter().map(|&b| b == 1).collect())
}

/// A 4 x 4 weight whose four 2 x 2 tiles all hold |values| 4, 3 / 2, 1 (signs vary): every
/// importance map, whichever tiles it sums, ranks the entries the same way.
fn tiled() -> Vec<f32> {
    #[rustfmt::skip]
    let w = vec![
        4.0, -3.0,   -4.0, 3.0,
        2.0,  1.0,    2.0, -1.0,
        -4.0, 3.0,    4.0, 3.0,
        -2.0, -1.0,   2.0, 1.0,
    ];
    w
}

fn config(blocks: usize, draws: usize, maps: usize) -> CandidateConfig {
    CandidateConfig {
        block: 2,
        blocks,
        draws,
        maps,
        seed: 9,
    }
}

#[test]
fn candidates_zero_the_smallest_entries_of_the_importance_maps() {
    let c = pattern_candidates("w", &tiled(), [4, 4], &config(3, 4, 2), &[0.25, 0.5, 0.75]).unwrap();
    assert_eq!(c.patterns.len(), 3 * 2, "maps times levels");
    // Level-major: both maps at 25 %, then at 50 %, then at 75 %.
    let expected = [mask(&[1, 1, 1, 0]), mask(&[1, 1, 0, 0]), mask(&[1, 0, 0, 0])];
    for (i, p) in c.patterns.iter().enumerate() {
        assert_eq!(p, &expected[i / 2], "candidate {i} at sparsity {}", c.sparsity(i));
    }
    // The same seed gives the same candidates.
    let again = pattern_candidates("w", &tiled(), [4, 4], &config(3, 4, 2), &[0.25, 0.5, 0.75]).unwrap();
    assert_eq!(again, c);
}

#[test]
fn padding_beyond_the_matrix_is_zeroed_first() {
    // 3 x 3 of ones in 2 x 2 tiles: every tile but the top-left is clipped, so a map summing
    // tiles is largest at the top-left entry of the tile, and padding entries count zero.
    let w = vec![1.0f32; 9];
    let c = pattern_candidates("w", &w, [3, 3], &config(50, 1, 1), &[0.25]).unwrap();
    assert_eq!(
        c.patterns[0],
        mask(&[1, 1, 1, 0]),
        "the bottom-right entry is padding most often"
    );
}

#[test]
fn rt3s_levels_give_rt3s_counts_of_kept_entries() {
    let w: Vec<f32> = (0..200 * 150)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let c = pattern_candidates("w", &w, [200, 150], &CandidateConfig::rt3(1), &RT3_SPARSITY_LEVELS).unwrap();
    assert_eq!(c.patterns.len(), 100);
    for (i, p) in c.patterns.iter().enumerate() {
        let zeroed = (c.sparsity(i) * 10_000.0).round() as usize;
        assert_eq!(p.len() - p.count_ones(), zeroed, "candidate {i}");
    }
}

#[test]
fn each_tile_takes_the_pattern_that_keeps_the_most_energy() {
    #[rustfmt::skip]
    let w = vec![
        5.0, 0.1,   0.1, 5.0,   1.0,
        5.0, 0.1,   0.1, 5.0,   1.0,
        0.1, 0.1,   3.0, 0.0,   0.0,
        2.0, 2.0,   3.0, 0.0,   2.0,
    ];
    let left = mask(&[1, 0, 1, 0]);
    let right = mask(&[0, 1, 0, 1]);
    let bottom = mask(&[0, 0, 1, 1]);
    let s = assign_patterns("w", &w, [4, 5], 2, &[left.clone(), right.clone(), bottom.clone()]).unwrap();
    let Sparsity::Pattern {
        assign,
        patterns,
        block,
    } = &s
    else {
        panic!("a pattern sparsity: {s:?}")
    };
    assert_eq!(block, &[2, 2]);
    assert_eq!(patterns, &vec![left, right, bottom]);
    // Tiles row-major over a 2 x 3 grid; the last column is clipped to one column, where only
    // the pattern's left column counts.
    assert_eq!(assign, &vec![0, 1, 0, 2, 0, 0]);
    s.validate("w", &[4, 5]).unwrap();
    let mut projected = w.clone();
    s.project(&[4, 5], &mut projected);
    assert_eq!(&projected[..5], &[5.0, 0.0, 0.0, 5.0, 1.0]);
}

#[test]
fn bad_weights_sets_and_settings_are_refused() {
    let w = tiled();
    let e = pattern_candidates("ffn.w", &w, [4, 3], &config(1, 1, 1), &[0.5]).unwrap_err();
    assert!(
        matches!(e, CompressError::Shape { .. }) && e.to_string().contains("ffn.w"),
        "{e}"
    );
    let e = pattern_candidates("w", &w, [4, 4], &config(1, 2, 3), &[0.5]).unwrap_err();
    assert!(e.to_string().contains("maps"), "{e}");
    let e = pattern_candidates("w", &w, [4, 4], &config(1, 1, 1), &[1.0]).unwrap_err();
    assert!(matches!(e, CompressError::Sparsity(_)), "{e}");
    let e = assign_patterns("attn.q", &w, [4, 4], 2, &[]).unwrap_err();
    assert!(e.to_string().contains("attn.q"), "{e}");
    let e = assign_patterns("attn.q", &w, [4, 4], 2, &[mask(&[1; 9])]).unwrap_err();
    assert!(e.to_string().contains("2 x 2"), "{e}");
}
