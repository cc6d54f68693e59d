//! The report of `canao privacy leak`: every row of `rows.jsonl` summarised per victim, phase,
//! density and attack (mean MSE, PSNR and SSIM, beside the two trivial guesses'; the share of
//! images on which the attack beats both), the density at which each attack stops beating them,
//! reconstructions as PNG grids beside the originals, and PSNR per phase as a plot.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use canao_privacy::leak::{Act, Attack, Init, Quality};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cmd::plot::{PALETTE, xy};
use crate::cmd::train_report::write_atomic;

/// One attack on one private image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub act: Act,
    pub init: Init,
    pub epochs: usize,
    pub phase: String,
    pub density: f64,
    pub attack: Attack,
    pub image: usize,
    pub class: usize,
    /// The reconstructed soft label puts its largest weight on the true class.
    pub label_recovered: bool,
    pub quality: Quality,
    pub grey: Quality,
    pub mean: Quality,
    pub beats_baselines: bool,
    pub distance: f64,
    pub test_accuracy: f64,
    /// The reconstruction on [0, 255], for the grids.
    pub pixels: Vec<u8>,
}

impl Row {
    pub fn key(&self) -> String {
        format!(
            "{}-{}-{}-{}-{}-{}",
            self.act, self.init, self.epochs, self.density, self.attack, self.image
        )
    }
}

/// (act, init, epochs, density in millionths, attack): rows of one setting, ordered.
type Group = (String, String, usize, u64, String);

/// (act, init, epochs, attack): one victim, phase and attack, over densities.
type Setting = (String, String, usize, String);

/// (act, init, density in millionths): the rows of one grid image.
type GridKey = (String, String, u64);

fn group(r: &Row) -> Group {
    (
        r.act.to_string(),
        r.init.to_string(),
        r.epochs,
        (r.density * 1e6).round() as u64,
        r.attack.to_string(),
    )
}

fn mean(rows: &[&Row], f: impl Fn(&Row) -> f64) -> f64 {
    rows.iter().map(|r| f(r)).sum::<f64>() / rows.len().max(1) as f64
}

/// Reads the rows, writes `report.json`, the grids and the plot, and prints the summary.
/// `originals` are the private images (item, pixels on [0, 255]) in sample order.
pub fn write_report(dir: &Path, resolved: &Value, originals: &[(usize, Vec<u8>)]) -> Result<()> {
    let file = dir.join("rows.jsonl");
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let rows: Vec<Row> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let mut groups: BTreeMap<Group, Vec<&Row>> = BTreeMap::new();
    rows.iter().for_each(|r| groups.entry(group(r)).or_default().push(r));
    println!(
        "{:<8} {:<8} {:>6} {:>7} {:<14} {:>6} {:>7} {:>6} {:>7} {:>6}",
        "act", "init", "epochs", "density", "attack", "images", "PSNR", "SSIM", "beats", "test"
    );
    let mut summary = Vec::new();
    for (g, rs) in &groups {
        let share = |f: fn(&Row) -> bool| rs.iter().filter(|r| f(r)).count() as f64 / rs.len() as f64;
        let s = json!({
            "act": g.0, "init": g.1, "epochs": g.2, "phase": rs[0].phase, "density": rs[0].density,
            "attack": g.4, "images": rs.len(),
            "mse": mean(rs, |r| r.quality.mse), "psnr": mean(rs, |r| r.quality.psnr),
            "ssim": mean(rs, |r| r.quality.ssim),
            "grey_psnr": mean(rs, |r| r.grey.psnr), "mean_image_psnr": mean(rs, |r| r.mean.psnr),
            "beats_baselines": share(|r| r.beats_baselines),
            "label_recovered": share(|r| r.label_recovered),
            "test_accuracy": rs[0].test_accuracy,
        });
        println!(
            "{:<8} {:<8} {:>6} {:>7} {:<14} {:>6} {:>7.2} {:>6.3} {:>7.2} {:>6.3}",
            g.0,
            g.1,
            g.2,
            rs[0].density,
            g.4,
            rs.len(),
            s["psnr"].as_f64().unwrap_or(f64::NAN),
            s["ssim"].as_f64().unwrap_or(f64::NAN),
            s["beats_baselines"].as_f64().unwrap_or(f64::NAN),
            rs[0].test_accuracy,
        );
        summary.push(s);
    }
    let report = json!({
        "summary": summary,
        "stops_beating_baselines_at": stops(&groups),
        "rows": rows.len(),
        "cpu": canao_latency::cpu_id(),
        "config": resolved,
    });
    write_atomic(&dir.join("report.json"), &serde_json::to_vec_pretty(&report)?)?;
    grids(dir, &rows, originals)?;
    plot_psnr(dir, &groups)?;
    crate::cmd::report::refresh(dir);
    println!("run folder: {}", dir.display());
    Ok(())
}

/// Per victim, phase and attack: the largest density at which the attack beats the baselines
/// on fewer than half the images (the densities tried, from dense down), or null if it beats
/// them at every density tried.
fn stops(groups: &BTreeMap<Group, Vec<&Row>>) -> Vec<Value> {
    let mut by: BTreeMap<Setting, Vec<(f64, f64)>> = BTreeMap::new();
    for (g, rs) in groups {
        let share = rs.iter().filter(|r| r.beats_baselines).count() as f64 / rs.len() as f64;
        by.entry((g.0.clone(), g.1.clone(), g.2, g.4.clone()))
            .or_default()
            .push((rs[0].density, share));
    }
    by.into_iter()
        .map(|((act, init, epochs, attack), mut d)| {
            d.sort_by(|a, b| b.0.total_cmp(&a.0));
            let at = d.iter().find(|(_, share)| *share < 0.5).map(|(density, _)| *density);
            json!({"act": act, "init": init, "epochs": epochs, "attack": attack,
                   "densities": d.iter().map(|x| x.0).collect::<Vec<_>>(), "stops_at": at})
        })
        .collect()
}

const TILE: usize = 28;
const SCALE: usize = 2;
const GAP: usize = 2;
/// Images per grid row.
const COLUMNS: usize = 10;

/// Per victim and density, `grid-<act>-<init>-d<density>.png`: the originals on top, then one
/// row per phase and attack.
fn grids(dir: &Path, rows: &[Row], originals: &[(usize, Vec<u8>)]) -> Result<()> {
    let shown: Vec<&(usize, Vec<u8>)> = originals.iter().take(COLUMNS).collect();
    let mut sets: BTreeMap<GridKey, BTreeMap<(usize, String), Vec<&Row>>> = BTreeMap::new();
    for r in rows {
        let set = (r.act.to_string(), r.init.to_string(), (r.density * 1e6).round() as u64);
        sets.entry(set)
            .or_default()
            .entry((r.epochs, r.attack.to_string()))
            .or_default()
            .push(r);
    }
    for ((act, init, density), lines) in sets {
        let mut tiles: Vec<Vec<Option<&[u8]>>> = vec![shown.iter().map(|o| Some(o.1.as_slice())).collect()];
        for rs in lines.values() {
            tiles.push(
                shown
                    .iter()
                    .map(|o| rs.iter().find(|r| r.image == o.0).map(|r| r.pixels.as_slice()))
                    .collect(),
            );
        }
        let name = format!("grid-{act}-{init}-d{}.png", density as f64 / 1e6);
        write_grid(&dir.join(name), &tiles)?;
    }
    Ok(())
}

fn write_grid(path: &Path, tiles: &[Vec<Option<&[u8]>>]) -> Result<()> {
    let step = TILE * SCALE + GAP;
    let (w, h) = (COLUMNS * step + GAP, tiles.len() * step + GAP);
    let mut img = vec![255u8; w * h];
    for (row, line) in tiles.iter().enumerate() {
        for (col, tile) in line.iter().enumerate() {
            let Some(px) = tile else { continue };
            for y in 0..TILE * SCALE {
                for x in 0..TILE * SCALE {
                    let v = px.get((y / SCALE) * TILE + x / SCALE).copied().unwrap_or(0);
                    img[(GAP + row * step + y) * w + GAP + col * step + x] = v;
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()?.write_image_data(&img)?;
    }
    write_atomic(path, &out)
}

/// Mean PSNR against the training phase, per victim and attack (dense gradients), with the
/// better trivial guess as a dashed reference per victim.
fn plot_psnr(dir: &Path, groups: &BTreeMap<Group, Vec<&Row>>) -> Result<()> {
    let mut lines: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (g, rs) in groups.iter().filter(|(g, _)| g.3 == 1_000_000) {
        let name = format!("{} {}-{}", g.4, g.0, g.1);
        lines
            .entry(name)
            .or_default()
            .push((g.2 as f64, mean(rs, |r| r.quality.psnr)));
        let floor = mean(rs, |r| r.grey.psnr.max(r.mean.psnr));
        lines
            .entry(format!("best guess {}-{}", g.0, g.1))
            .or_default()
            .push((g.2 as f64, floor));
    }
    lines.values_mut().for_each(|v| v.dedup_by(|a, b| a.0 == b.0));
    let series: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, (n, p))| (n.as_str(), PALETTE[i % PALETTE.len()], p.as_slice()))
        .collect();
    xy(
        &dir.join("psnr.svg"),
        "Gradient leakage: reconstruction PSNR by training phase (dense gradients)",
        "victim training epochs",
        "mean PSNR (dB)",
        &[],
        &series,
        None,
    )
}
