//! The BERT space's evaluator on the real teacher and corpus, with a small probe split.

use canao_cpu::CpuRuntime;
use canao_latency::{DeviceProfile, PlanPredictor};
use canao_models::{MiniLm, StudentArch, assets, reviews_from_cache};
use canao_search::{
    LatencyObjective, Objective, SearchError, SearchSpace, StudentObjective, StudentScorer, Students, Task,
};

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn phone() -> DeviceProfile {
    let text = std::fs::read_to_string(repo("device-profiles/snapdragon-855.ron")).unwrap();
    DeviceProfile::from_ron(&text, "snapdragon-855.ron").unwrap()
}

fn phone_cpu() -> PlanPredictor<CpuRuntime> {
    PlanPredictor::new(CpuRuntime, phone(), 0).unwrap()
}

fn objective(task: Task, measure: bool) -> canao_search::Result<StudentObjective<CpuRuntime>> {
    let home = assets::canao_home();
    let teacher = MiniLm::from_cache(&home, &mut |l| eprintln!("{l}")).unwrap();
    let reviews = reviews_from_cache(&home, &mut |l| eprintln!("{l}")).unwrap();
    let space = SearchSpace::from_file(&repo("search-spaces/minilm.ron")).unwrap();
    StudentObjective::new(space, teacher, &reviews, task, phone_cpu(), measure)
}

fn small() -> Task {
    Task {
        train: 48,
        test: 24,
        ..Task::default()
    }
}

#[test]
fn the_teacher_is_faithful_to_itself_and_students_are_faster_and_less_faithful() {
    let o = objective(small(), false).unwrap();
    let space = o.space().clone();
    let teacher = o
        .evaluate_student(&StudentArch::identity(&space.teacher_arch()))
        .unwrap();
    assert!((teacher.extra["fidelity"] - 1.0).abs() < 1e-5, "{:?}", teacher.extra);
    assert!((0.0..=1.0).contains(&teacher.accuracy));

    // Two layers, fewer heads, narrower FFN, block-sparse: much faster on the phone profile.
    let mut point = vec![0; space.cardinalities().len()];
    point[0] = 1; // keep layer 0 ...
    point[5] = 1; // ... and layer 1, both with the first choice of everything else
    point[5 + 3] = 2; // layer 1 at the lowest density
    let small_student = Students(&o).evaluate(&point).unwrap();
    assert!(
        small_student.latency_ms < 0.5 * teacher.latency_ms,
        "{small_student:?} vs {teacher:?}"
    );
    assert!(small_student.energy_mj < teacher.energy_mj);
    assert!(small_student.extra["fidelity"] < 0.99);
    // Deterministic: the same candidate scores the same.
    assert_eq!(Students(&o).evaluate(&point).unwrap(), small_student);
    // The key names the student, whatever unused choices the point carries.
    let mut same = point.clone();
    same[4] = 2; // the block of a dense layer
    same[12] = 3; // a choice of a dropped layer
    assert_eq!(Students(&o).key(&same).unwrap(), Students(&o).key(&point).unwrap());
    // A vector of the wrong length is refused, naming both lengths.
    let err = Students(&o).key(&point[1..]).unwrap_err().to_string();
    assert!(err.contains(&format!("has {} decisions", point.len() - 1)), "{err}");
}

#[test]
fn students_outside_the_space_and_bad_tasks_are_refused() {
    let o = objective(small(), false).unwrap();
    let mut s = StudentArch::identity(&o.space().teacher_arch());
    s.layers[2].ffn = 1000;
    let e = o.evaluate_student(&s).unwrap_err();
    assert!(matches!(e, SearchError::Outside { .. }), "{e}");
    assert!(e.to_string().contains("layers[2].ffn"), "{e}");

    let e = objective(
        Task {
            train: 20_000,
            ..small()
        },
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("task") && e.contains("12808"), "{e}");
}

#[test]
fn measure_times_the_candidate_here_beside_the_prediction() {
    let o = objective(small(), true).unwrap();
    let mut point = vec![0; o.space().cardinalities().len()];
    point[0] = 1;
    point[5] = 1;
    let e = Students(&o).evaluate(&point).unwrap();
    let ms = e.extra["measured_ms"];
    assert!(ms.is_finite() && ms > 0.0, "{e:?}");
}

#[test]
fn architecture_only_spaces_score_capacity_under_predicted_latency() {
    let space = SearchSpace::from_file(&repo("search-spaces/bert-base.ron")).unwrap();
    let o = LatencyObjective::new(space.clone(), phone_cpu());
    let teacher = o
        .evaluate_student(&StudentArch::identity(&space.teacher_arch()))
        .unwrap();
    assert!((teacher.score - 1.0).abs() < 1e-12);
    let mut point = vec![0; space.cardinalities().len()];
    point[0] = 1;
    point[5] = 1;
    let small = Students(&o).evaluate(&point).unwrap();
    // Two of twelve layers at 4 of 12 heads and FFN 768 of 3072, dense.
    let want =
        2.0 * (4.0 * 768.0 * 256.0 + 2.0 * 768.0 * 768.0) / (12.0 * (4.0 * 768.0 * 768.0 + 2.0 * 768.0 * 3072.0));
    assert!((small.score - want).abs() < 1e-12, "{} vs {want}", small.score);
    assert!(small.latency_ms < 0.25 * teacher.latency_ms, "{small:?} vs {teacher:?}");
}

/// Issue 23: a custom space that leaves out the teacher's own heads and depth still scores the
/// teacher as the reference; only candidates are held to the space.
#[test]
fn the_teacher_is_scored_even_when_the_space_leaves_out_its_setting() {
    let text = std::fs::read_to_string(repo("search-spaces/bert-base.ron"))
        .unwrap()
        .replace("layers: (2, 12)", "layers: (2, 4)")
        .replace("heads: [4, 6, 8, 12]", "heads: [2, 4, 6, 8]");
    let space = SearchSpace::from_ron(&text, "narrow.ron").unwrap();
    let o = LatencyObjective::new(space.clone(), phone_cpu());
    let teacher = o.evaluate_teacher().unwrap();
    assert!((teacher.score - 1.0).abs() < 1e-12, "{teacher:?}");
    let identity = StudentArch::identity(&space.teacher_arch());
    let e = o.evaluate_student(&identity).unwrap_err();
    assert!(matches!(e, SearchError::Outside { .. }), "{e}");
}
