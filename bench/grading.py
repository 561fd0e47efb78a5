#!/usr/bin/env python3
"""How long `biaslab grade` takes per lab-01 submission, two at a time on this machine.

Makes a class of copies of lab 01's solution notebook in nbgrader's `submitted/<student>/lab01/` layout, then runs
`biaslab grade` twice into one output folder:

1. the first half of the class: includes the one-time work of a new output folder (the warm-up of the build from
   the set-up's prepared build, and the expected answers recorded by running the source notebook);
2. the second half, new students graded into the same folder: only the submissions' own runs. Its wall time
   divided by the number of submissions is the figure the README gives ("per submission").

Needs `bash lab/setup.sh --no-open` (the prepared build), bubblewrap, and a built `biaslab` (release if there is
one, else debug; `--biaslab PATH` to choose). Run it on a quiet machine (a build beside it skews it badly):

    .venv/bin/python bench/grading.py [--students 8] [--jobs 2]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOLUTION = os.path.join(ROOT, "solutions", "01_fill_mask_bias.ipynb")


def default_binary():
    for profile in ("release", "debug"):
        path = os.path.join(ROOT, "target", profile, "biaslab")
        if os.path.exists(path):
            return path
    sys.exit("no biaslab binary: run `cargo build --release` first (or pass --biaslab PATH)")


def grade(binary, submitted, out, jobs):
    env = dict(os.environ)
    env.setdefault("BIASLAB_MODEL", "demo")
    env.setdefault("BIASLAB_PYTHON", os.path.join(ROOT, ".venv", "bin", "python"))
    started = time.monotonic()
    result = subprocess.run([binary, "grade", submitted, "--source", os.path.join(ROOT, "solutions"), "--out", out,
                             "--jobs", str(jobs)], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"biaslab grade failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=8, help="submissions in all, half per run (default 8)")
    parser.add_argument("--jobs", type=int, default=2, help="biaslab grade --jobs (default 2)")
    parser.add_argument("--biaslab", default=None, help="the biaslab binary (default target/release or debug)")
    args = parser.parse_args()
    binary = args.biaslab or default_binary()
    half = max(1, args.students // 2)
    print(f"lab 01, {2 * half} submissions, --jobs {args.jobs}, {os.cpu_count()} cores, {os.path.relpath(binary, ROOT)}")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "graded")
        walls = []
        for run in range(2):
            submitted = os.path.join(tmp, f"submitted-{run}")
            for i in range(half):
                folder = os.path.join(submitted, f"student{run * half + i:02}", "lab01")
                os.makedirs(folder)
                shutil.copy(SOLUTION, folder)
            walls.append(grade(binary, submitted, out, args.jobs))
        seconds, scores = [], set()
        for name in sorted(os.listdir(os.path.join(out, "results"))):
            with open(os.path.join(out, "results", name, "lab01.json"), encoding="utf-8") as f:
                result = json.load(f)
            seconds.append(result["notebooks"][0]["seconds"])
            scores.add((result["score"], result["max_score"]))
    # Every copy of the solution must score the same (its autograded points; the written answer waits for a hand).
    if len(scores) != 1:
        sys.exit(f"the copies of the solution scored differently: {sorted(scores)}")
    print(f"  first {half} (with the new output folder's warm-up and expected answers): {walls[0]:6.1f} s")
    print(f"  next {half} (same output folder):                                  {walls[1]:6.1f} s")
    score, max_score = scores.pop()
    print(f"  each scored {score:g} of {max_score:g} (the written answer is graded by hand)")
    print(f"  per submission: {walls[1] / half:.1f} s of wall time; each run in its sandbox "
          f"{min(seconds):.1f}-{max(seconds):.1f} s ({args.jobs} at a time)")


if __name__ == "__main__":
    main()
