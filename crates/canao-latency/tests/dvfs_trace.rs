//! DVFS trace replay on RT3's reference device: a 5-event trace worked out by hand, and traces
//! that are refused with the line that is wrong.

use canao_latency::{DeviceProfile, Runs, Trace, replay};

fn reference() -> DeviceProfile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../device-profiles/rt3-reference.ron");
    DeviceProfile::from_ron(&std::fs::read_to_string(path).unwrap(), "rt3-reference.ron").unwrap()
}

const TRACE: &str = "time_ms,event,value
0,level,0
0,request,60   # 0 -> 50 ms at level 0: met
20,request,60  # waits until 50; the level fell to 2 at 40: switch 1 + 90 -> 141 > 80: missed
40,level,2
80,request,100 # waits until 141, level 2 still: 231 > 180: missed
";

#[test]
fn a_five_event_trace_replays_as_worked_out_by_hand() {
    let p = reference();
    let trace = Trace::parse(TRACE, "t.csv", &p).unwrap();
    assert_eq!(trace.events.len(), 5);
    let r = replay(
        &trace,
        &p,
        &Runs {
            latency_ms: &[50.0, 70.0, 90.0],
            switch_ms: 1.0,
        },
    )
    .unwrap();
    assert_eq!((r.requests, r.missed, r.switches), (3, 2, 1));
    assert!(
        (r.busy_ms - 231.0).abs() < 1e-9 && (r.end_ms - 231.0).abs() < 1e-9,
        "{r:?}"
    );
    // 50 ms at 0.215264 W (0.1 nF, 1.24 V, 1.4 GHz), then 181 ms at 0.0788045 W (0.9925 V,
    // 0.8 GHz): 0.0107632 + 0.0142636145 = 0.0250268145 J.
    assert!((r.joules - 0.025_026_814_5).abs() < 1e-9, "{}", r.joules);

    // A model that never switches pays no switch.
    let fixed = replay(
        &trace,
        &p,
        &Runs {
            latency_ms: &[50.0, 70.0, 90.0],
            switch_ms: 0.0,
        },
    )
    .unwrap();
    assert_eq!((fixed.switches, fixed.missed), (0, 2));
    assert!((fixed.busy_ms - 230.0).abs() < 1e-9);
}

#[test]
fn bad_traces_name_their_line() {
    let p = reference();
    for (text, line, says) in [
        ("0,level,0\n5,request,10\n3,request,10\n", 3, "comes before"),
        ("0,level,0\n1,level,3\n", 2, "has 3 DVFS levels"),
        ("0,level,0\n1,boost,1\n", 2, "unknown event"),
        ("0,request,10\n", 1, "first event must set the level"),
        ("0,level,0\n1,request,-4\n", 2, "deadline"),
        ("0,level\n", 1, "time_ms,event,value"),
    ] {
        let e = Trace::parse(text, "trace.csv", &p).unwrap_err().to_string();
        assert!(e.starts_with(&format!("trace.csv:{line}:")) && e.contains(says), "{e}");
    }
    let trace = Trace::parse("0,level,0\n", "t.csv", &p).unwrap();
    let e = replay(
        &trace,
        &p,
        &Runs {
            latency_ms: &[1.0],
            switch_ms: 0.0,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("rt3-reference"), "{e}");
}
