"""Wall time of `advisor plan` on the four examples against a bare `import pydantic, pluggy, click`.

Target: at most 8x the bare import on the built-in catalog, staying there as the catalog grows;
`advisor --help` must stay where benchmarks/startup.py has it. The per-tensor weights estimate of
every model x quant used to dominate; it is now done once per architecture (and architecture x
quant), see advisor/estimate/weights.py. The MMLU capability boundary is still fitted on every
plan (numpy's import and the pruned fit, docs/quality.md), and the catalog is still parsed from
YAML. Two costs lie outside the code: with PYTHONDONTWRITEBYTECODE=1 every run compiles the
package's sources again, and the interpreter's teardown (and its cyclic garbage collector during
the run) walks every object a plan made. Rounds are interleaved and the ratio is per round (see
benchmarks/startup.py), so a noisy, shared machine shows as a wide spread rather than a wrong median.
Run by hand; a speed target is never a unit test:

    python benchmarks/plan_speed.py [--runs 15] [--target 8]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from startup import advisor_command, interleaved_ratios

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = ("onprem-bank", "small-team-api", "offline-laptop", "ai-lab-build")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--target", type=float, default=8.0, help="largest acceptable median ratio")
    args = parser.parse_args()
    commands = {
        f"plan {name}": advisor_command("plan", "--answers", str(EXAMPLES / f"{name}.yaml"), "--format", "json")
        for name in NAMES
    }
    commands["--help"] = advisor_command("--help")
    bare, ratios = interleaved_ratios(commands, args.runs)
    print(f"{'import pydantic, pluggy, click':22} {bare * 1000:6.0f} ms   ({args.runs} interleaved rounds)")
    for name, ratio in ratios.items():
        print(f"{name:22} {ratio}")
    worst = max(r.median for name, r in ratios.items() if name.startswith("plan"))
    print(f"worst plan median ratio {worst:.2f} (target {args.target:g}): {'ok' if worst <= args.target else 'OVER'}")
    return 0 if worst <= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
