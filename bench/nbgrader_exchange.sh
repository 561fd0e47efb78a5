#!/bin/bash
# nbgrader's own exchange around `biaslab grade`: release → fetch → submit → collect → grade → release_feedback →
# fetch_feedback, on this machine, with lab 01 and one student who hands in the solution's answers. Shows that
# what biaslab writes is what nbgrader's commands read (submitted/ in, feedback/ with nbgrader's timestamp.txt and
# submission_secret.txt out). On a hub the student's commands are the Assignments tab of nbgrader's JupyterLab
# extension; here they run in the student's folder.
#
#   bash bench/nbgrader_exchange.sh PYTHON_WITH_NBGRADER
#
# Needs what `biaslab grade` needs (bubblewrap, `bash lab/setup.sh`), a built biaslab, and a Python environment with
# nbgrader (`python -m venv v && v/bin/pip install nbgrader`). Offline: the demo model.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
env_bin=$(dirname "${1:?usage: bash bench/nbgrader_exchange.sh PYTHON_WITH_NBGRADER}")
export PATH="$env_bin:$PATH"   # nbgrader runs alembic from its environment
biaslab="$root/target/release/biaslab"; [ -x "$biaslab" ] || biaslab="$root/target/debug/biaslab"
export BIASLAB_MODEL=${BIASLAB_MODEL:-demo}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
course=$work/course; student=$work/student; exchange=$work/exchange
mkdir -p "$course" "$student" "$exchange"; chmod 777 "$exchange"
for dir in "$course" "$student"; do
    printf 'c = get_config()\nc.CourseDirectory.course_id = "biaslab"\nc.Exchange.root = "%s"\n' "$exchange" > "$dir/nbgrader_config.py"
done
echo "c.CourseDirectory.root = \"$course\"" >> "$course/nbgrader_config.py"

echo "==> instructor: release lab01 (biaslab release makes the student notebook; nbgrader releases it)"
"$biaslab" release "$root/solutions" "$work/released" >/dev/null
mkdir -p "$course/release/lab01" && cp "$work/released/01_fill_mask_bias.ipynb" "$course/release/lab01/"
(cd "$course" && nbgrader db assignment add lab01 && nbgrader release_assignment lab01) 2>&1 | grep -E "Released|ERROR" || true

echo "==> student: fetch, answer (the solution's answers), submit"
(cd "$student" && nbgrader fetch_assignment lab01 2>&1 | grep -E "Fetched|ERROR")
python3 - "$root/solutions/01_fill_mask_bias.ipynb" "$student/lab01/01_fill_mask_bias.ipynb" <<'PY'
import json, sys
solution, mine = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
answers = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in solution["cells"]
           if c["metadata"].get("nbgrader", {}).get("solution")}
for cell in mine["cells"]:
    meta = cell["metadata"].get("nbgrader", {})
    if meta.get("solution") and meta["grade_id"] in answers:
        cell["source"] = answers[meta["grade_id"]]
json.dump(mine, open(sys.argv[2], "w"))
PY
(cd "$student" && nbgrader submit lab01 2>&1 | grep -E "Submitted|ERROR")

echo "==> instructor: collect, grade with biaslab, release the feedback"
(cd "$course" && nbgrader collect lab01 2>&1 | grep -E "Collecting|ERROR")
(cd "$course" && "$biaslab" grade submitted --source "$root/solutions" --out "$work/graded" 2>&1 | grep -E "graded|error")
mkdir -p "$course/feedback" && cp -r "$work/graded/feedback/." "$course/feedback/"
(cd "$course" && nbgrader release_feedback lab01 2>&1 | grep -E "released|ERROR|Error")

echo "==> student: fetch the feedback"
(cd "$student" && nbgrader fetch_feedback lab01 2>&1 | grep -E "Fetched|ERROR")
found=$(find "$student/lab01/feedback" -name "01_fill_mask_bias.html" | head -1)
[ -n "$found" ] && grep -q "Score: " "$found" || { echo "FAILED: no feedback reached the student" >&2; exit 1; }
echo "ok: the student has $(basename "$(dirname "$found")")/01_fill_mask_bias.html ($(grep -o 'Score: <strong>[^<]*' "$found" | head -1 | sed 's/<strong>//'))"
