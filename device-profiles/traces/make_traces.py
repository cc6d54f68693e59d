#!/usr/bin/env python3
"""Writes the two DVFS traces `canao reconfig replay` ships with. Both are synthetic, made here
(seeded, so rerunning gives the same files); no measured phone trace is at hand.

- thermal-throttle.csv: a phone under sustained load steps down as it heats: level 0 for 20 s,
  level 1 for 20 s, level 2 for 20 s; a request every 250 ms, each with a 200 ms deadline.
- governor-bursts.csv: a governor moving between levels every 1-4 s (a seeded random walk) while
  requests come in bursts of 5, 50 ms apart, every 2 s, each with a 300 ms deadline; 60 s.

Format: time_ms,event,value with `level` (DVFS level index, 0 = fastest) and `request` (relative
deadline in ms) events, in time order.
"""
import random


def write(name, events, about):
    events.sort(key=lambda e: (e[0], e[1] != "level"))
    with open(name, "w") as f:
        f.write(f"# {about}\n# made by make_traces.py (synthetic)\ntime_ms,event,value\n")
        for t, kind, value in events:
            f.write(f"{t},{kind},{value}\n")


def thermal():
    events = [(0, "level", 0), (20000, "level", 1), (40000, "level", 2)]
    events += [(t, "request", 200) for t in range(0, 60000, 250)]
    write("thermal-throttle.csv", events, "sustained load stepping down a level every 20 s; a request every 250 ms, 200 ms deadline")


def governor():
    rng = random.Random(7)
    events, t, level = [(0, "level", 0)], 0, 0
    while True:
        t += rng.randint(1000, 4000)
        if t >= 60000:
            break
        level = max(0, min(2, level + rng.choice([-1, 1])))
        events.append((t, "level", level))
    for burst in range(0, 60000, 2000):
        events += [(burst + 50 * i, "request", 300) for i in range(5)]
    write("governor-bursts.csv", events, "a governor's level every 1-4 s (seeded walk); bursts of 5 requests every 2 s, 300 ms deadline")


thermal()
governor()
