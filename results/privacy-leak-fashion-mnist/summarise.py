#!/usr/bin/env python3
"""Summarises rows.jsonl of this run folder (also what `canao privacy leak` writes to report.json
when the run finishes): per victim, phase and attack, the images done, mean PSNR and SSIM, the
share beating both trivial guesses, label recovery, and the victim's test accuracy."""
import json, collections, statistics

groups = collections.defaultdict(list)
for line in open("rows.jsonl"):
    try:
        r = json.loads(line)
    except json.JSONDecodeError:
        continue  # a torn last line of a killed run
    groups[(r["act"], r["init"], r["epochs"], r["density"], r["attack"])].append(r)
print("| victim | epochs | test acc. | attack | images | PSNR dB | SSIM | beats both guesses | label |")
print("|---|---|---|---|---|---|---|---|---|")
for (act, init, epochs, density, attack), rs in sorted(groups.items()):
    mean = lambda f: statistics.mean(f(r) for r in rs)
    print(
        f"| {act}-{init} | {epochs} | {rs[0]['test_accuracy']:.3f} | {attack} | {len(rs)} "
        f"| {mean(lambda r: r['quality']['psnr']):.2f} | {mean(lambda r: r['quality']['ssim']):.3f} "
        f"| {mean(lambda r: r['beats_baselines']):.2f} | {mean(lambda r: r['label_recovered']):.2f} |"
    )
grey = statistics.mean(r["grey"]["psnr"] for rs in groups.values() for r in rs)
mean_img = statistics.mean(r["mean"]["psnr"] for rs in groups.values() for r in rs)
print(f"\ntrivial guesses over these images: grey {grey:.2f} dB, dataset mean image {mean_img:.2f} dB")
