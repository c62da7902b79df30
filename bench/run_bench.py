"""Benchmark for zdverify: start-up, the CLI on the examples, and a scale series.

This is a benchmark, not a test: it asserts nothing about timings. Every number is
reported next to a ratio against a baseline measured in the same run, so results from
different machines can be compared by their ratios rather than their absolute times.

    python bench/run_bench.py           # full run, writes reports/bench.md
    python bench/run_bench.py --quick   # CI smoke: smallest and largest case, once each

The script exits non-zero only if something *failed* (the CLI exited with an error or
verify() raised), never because something was slow.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import grid  # noqa: E402  (bench/grid.py beside this script)

EXAMPLES = ROOT / "examples"
DEFAULT_OUTPUT = ROOT / "reports" / "bench.md"
PY = sys.executable

# (nodes, replicas); the first is the per-manifest baseline for the ratio column.
SCALE_CASES = [(3, 3), (10, 30), (30, 100), (100, 300)]
SCALE_MANIFESTS = ["recommended-cluster.yaml", "no-prestop.yaml", "local-spread-per-revision.yaml"]
# name -> replacements applied to the manifest text (each must match exactly once).
STRATEGIES = {
    "surge 1 / unavail 0": {},
    "surge 25% / unavail 25%": {
        r"^(\s*)maxSurge: 1\s*$": r"\g<1>maxSurge: 25%",
        r"^(\s*)maxUnavailable: 0\s*$": r"\g<1>maxUnavailable: 25%",
    },
}
ONCE_PAST_S = 10.0  # in-process cases slower than this are measured once, not best of N
EXIT_MEANING = {0: "proved", 1: "counterexample", 2: "error", 3: "inconclusive"}


# --------------------------------------------------------------------------- timing


def time_subprocess(argv: list[str], repeat: int) -> tuple[float, int]:
    """Best wall time (seconds) of running argv `repeat` times, and the last exit code."""
    best, rc = float("inf"), -1
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, cwd=ROOT)
        best = min(best, time.perf_counter() - t0)
        rc = proc.returncode
        if rc == 2:
            sys.stderr.write(f"[bench] {shlex.join(argv)} exited 2:\n{proc.stderr.decode(errors='replace')}\n")
    return best, rc


def cli_available() -> bool:
    """True when `python -m zdverify` exists (it is developed concurrently)."""
    try:
        proc = subprocess.run([PY, "-m", "zdverify", "--help"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


# Fallback when the CLI is missing: the same work through the API, with the CLI's exit codes.
_FALLBACK = (
    "import sys\n"
    "from zdverify import verify\n"
    "r = verify([sys.argv[1]], nodes=int(sys.argv[2]))\n"
    "sys.exit({'PROVED': 0, 'COUNTEREXAMPLE': 1, 'INCONCLUSIVE': 3}.get(r.verdict.name, 2))\n"
)


def cli_argv(path: Path, nodes: int, use_cli: bool) -> list[str]:
    if use_cli:
        return [PY, "-m", "zdverify", str(path), "--nodes", str(nodes)]
    return [PY, "-c", _FALLBACK, str(path), str(nodes)]


# --------------------------------------------------------------------------- scale series


@dataclass
class ScaleRow:
    manifest: str
    strategy: str
    nodes: int
    replicas: int
    seconds: float = float("nan")
    verdicts: str = ""
    states: int | str = "-"
    edges: int | str = "-"
    ratio: float = float("nan")
    error: str = ""


def make_manifest(src: Path, replicas: int, replacements: dict[str, str], outdir: Path, tag: str) -> Path:
    text = src.read_text()
    text, n = re.subn(r"^(\s*)replicas: 3\s*$", rf"\g<1>replicas: {replicas}", text, flags=re.M)
    if n != 1:
        raise SystemExit(f"[bench] {src.name}: expected one 'replicas: 3' line, found {n}")
    for pat, repl in replacements.items():
        text, n = re.subn(pat, repl, text, flags=re.M)
        if n != 1:
            raise SystemExit(f"[bench] {src.name}: expected one line matching {pat!r}, found {n}")
    out = outdir / f"{src.stem}-{tag}-r{replicas}.yaml"
    out.write_text(text)
    return out


def run_scale(cases: list[tuple[int, int]], repeat: int, tmp: Path) -> list[ScaleRow]:
    from zdverify import verify

    verify([str(EXAMPLES / SCALE_MANIFESTS[0])], nodes=3)  # warm-up: the lazy import of the search
    rows: list[ScaleRow] = []
    for manifest in SCALE_MANIFESTS:
        for s_i, (strategy, repl) in enumerate(STRATEGIES.items()):
            base: float | None = None
            for nodes, replicas in cases:
                row = ScaleRow(manifest, strategy, nodes, replicas)
                path = make_manifest(EXAMPLES / manifest, replicas, repl, tmp, f"s{s_i}")
                try:
                    best, report = float("inf"), None
                    for _ in range(repeat):
                        t0 = time.perf_counter()
                        report = verify([str(path)], nodes=nodes)
                        best = min(best, time.perf_counter() - t0)
                        if best > ONCE_PAST_S:  # a slow case once: its noise is small against it
                            break
                    row.seconds = best
                    counts = Counter(r.verdict.name for r in report.results)
                    row.verdicts = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
                    if report.results:
                        stats = report.results[0].stats or {}
                        row.states = stats.get("states", "-")
                        if stats.get("reduced_graph"):  # past 20,000 states: the two reduced graphs
                            row.states = f"{row.states} (reduced)"
                        if stats.get("node_states"):  # Local under placement rules: deployment.node_facts
                            row.states = f"{row.states} + {stats['node_states']} per node"
                        row.edges = stats.get("edges", "-")
                except Exception as e:  # noqa: BLE001 - a benchmark reports failures, it does not stop
                    row.error = f"{type(e).__name__}: {e}"
                    row.verdicts = "ERROR"
                if base is None:
                    base = row.seconds
                row.ratio = row.seconds / base if base else float("nan")
                rows.append(row)
                print(f"[bench] scale {manifest} [{strategy}] {nodes}x{replicas}: "
                      f"{row.seconds:.3f}s {row.verdicts} states={row.states}", file=sys.stderr)
    return rows


SPEC_FILES = ("examples/specs/grace-margin.zds", "examples/specs/zone-capacity.zds")


def run_specs(cases: list[tuple[int, int]], repeat: int, tmp: Path) -> list[tuple[str, int, int, float, float, str]]:
    """The built-ins alone against the built-ins plus the example spec files (a time
    comparison and a count over zones): what user properties cost, as a ratio."""
    from zdverify import verify

    specs = [str(ROOT / f) for f in SPEC_FILES]
    rows = []
    for manifest in SCALE_MANIFESTS:
        for nodes, replicas in cases:
            path = make_manifest(EXAMPLES / manifest, replicas, {}, tmp, "spec")
            timings = []
            verdicts = ""
            for extra in ((), specs):
                best = float("inf")
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    report = verify([str(path)], nodes=nodes, specs=extra)
                    best = min(best, time.perf_counter() - t0)
                    if best > ONCE_PAST_S:
                        break
                timings.append(best)
                if extra:
                    verdicts = ", ".join(f"{r.property.slug} {r.verdict.value}" for r in report.results
                                         if not r.property.builtin)
            rows.append((manifest, nodes, replicas, timings[0], timings[1], verdicts))
            print(f"[bench] specs {manifest} {nodes}x{replicas}: {timings[0]:.3f}s -> {timings[1]:.3f}s",
                  file=sys.stderr)
    return rows


# --------------------------------------------------------------------------- report


# fleet cases through the CLI (the speed issue's), from the grid's templates
FLEET_CASES = [("Deployment", 1000, 3, "Local"), ("Deployment", 3000, 3, "Cluster"), ("DaemonSet", 1000, 1000, "Local")]


def run_fleet(tmp: Path) -> list[tuple[str, float, float, float, int, str]]:
    """Each fleet case once through the CLI: (label, wall s, CPU s, peak MiB, exit code, verdicts)."""
    from grid import Case, run_case
    rows = []
    for kind, replicas, nodes, policy in FLEET_CASES:
        r = run_case(Case(kind, replicas, nodes, policy), tmp)
        rows.append((r.case.label, r.wall, r.cpu, r.peak_mb, r.exit, r.verdicts))
        print(f"[bench] fleet {r.case.label}: {r.wall:.1f}s exit {r.exit} {r.verdicts}", file=sys.stderr)
    return rows


CHECKOV_FILES = ("no-prestop.yaml", "recommended-cluster.yaml", "local-spread.yaml")


def run_checkov(repeat: int) -> list[tuple[str, float, float]]:
    """zdverify and Checkov (``$CHECKOV`` or ``checkov`` on PATH; skipped when neither) on the
    same files, whole processes: (file, zdverify wall s, Checkov wall s), best of ``repeat``."""
    import shutil
    checkov = os.environ.get("CHECKOV") or shutil.which("checkov")
    if not checkov:
        print("[bench] checkov not found ($CHECKOV or PATH): no ratio", file=sys.stderr)
        return []
    rows = []
    for name in CHECKOV_FILES:
        path = str(EXAMPLES / name)
        ours, _ = time_subprocess([PY, "-m", "zdverify", path], repeat)
        theirs, _ = time_subprocess([checkov, "-f", path, "--framework", "kubernetes", "--quiet", "--compact",
                                     "--skip-download"], repeat)
        rows.append((name, ours, theirs))
        print(f"[bench] {name}: zdverify {ours:.2f}s, checkov {theirs:.2f}s", file=sys.stderr)
    return rows


def run_jobs(use_cli: bool) -> list[tuple[int, float, int]]:
    """The examples directory with --jobs 1 and --jobs 2 (same output; wall time)."""
    if not use_cli:
        return []
    rows = []
    for jobs in (1, 2):
        secs, rc = time_subprocess([PY, "-m", "zdverify", str(EXAMPLES), "--likelihood-runs", "0", "-j", str(jobs)], 1)
        rows.append((jobs, secs, rc))
        print(f"[bench] examples/ -j {jobs}: {secs:.1f}s exit {rc}", file=sys.stderr)
    return rows


def fmt_s(s: float) -> str:
    if s != s:  # NaN
        return "-"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def fmt_x(x: float) -> str:
    return "-" if x != x else f"{x:.2f}×"


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
        return rev + (" (working tree has uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: only the smallest and largest scale case, every measurement once; "
                         "prints only, unless --output is given")
    ap.add_argument("--grid", choices=("none", "small", "full"), default=None,
                    help="the grid of generated workloads (bench/grid.py): small (default of a full run) or full "
                         "(1,000 replicas and nodes; long)")
    ap.add_argument("--output", type=Path, default=None,
                    help=f"Markdown file to write (default: {DEFAULT_OUTPUT.relative_to(ROOT)} for a full run)")
    args = ap.parse_args(argv)

    startup_repeat, cli_repeat, scale_repeat = (1, 1, 1) if args.quick else (5, 3, 3)
    cases = [SCALE_CASES[0], SCALE_CASES[-1]] if args.quick else SCALE_CASES
    output = args.output if args.output else (None if args.quick else DEFAULT_OUTPUT)
    failed = False

    # 1. start-up baselines
    subprocess.run([PY, "-c", "import zdverify"], cwd=ROOT)  # warm the bytecode cache
    t_pass, _ = time_subprocess([PY, "-c", "pass"], startup_repeat)
    t_import, rc = time_subprocess([PY, "-c", "import zdverify"], startup_repeat)
    failed |= rc != 0
    print(f"[bench] python -c pass: {t_pass:.3f}s, import zdverify: {t_import:.3f}s", file=sys.stderr)

    # 2. the CLI on every example, start-up included
    use_cli = cli_available()
    example_rows = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        argv_ = cli_argv(path, 3, use_cli)
        subprocess.run(argv_, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)  # warm-up
        secs, rc = time_subprocess(argv_, cli_repeat)
        failed |= rc not in (0, 1, 3)
        example_rows.append((path.name, secs, rc))
        print(f"[bench] cli {path.name}: {secs:.3f}s exit {rc}", file=sys.stderr)

    # 3. scale series in-process
    with tempfile.TemporaryDirectory(prefix="zdverify-bench-") as tmp:
        scale_rows = run_scale(cases, scale_repeat, Path(tmp))
        spec_rows = run_specs(cases, scale_repeat, Path(tmp))
        fleet_rows = [] if args.quick or not use_cli else run_fleet(Path(tmp))
        level = args.grid or ("none" if args.quick else "small")
        grid_rows = [] if level == "none" else grid.run_grid(level, Path(tmp))
    jobs_rows = [] if args.quick else run_jobs(use_cli)
    checkov_rows = [] if args.quick else run_checkov(cli_repeat)
    failed |= any(r.error for r in scale_rows)

    # 4. report
    now = _dt.datetime.now().astimezone()
    cli_cmd = "python -m zdverify EXAMPLE --nodes 3" if use_cli else \
        "python -c \"from zdverify import verify; verify([EXAMPLE], nodes=3)\" (CLI not available at run time)"
    lines = [
        "# zdverify benchmark",
        "",
        f"- Date: {now.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- Machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs",
        f"- Python: {platform.python_implementation()} {platform.python_version()} ({PY})",
        f"- Commit: {git_rev()}",
        f"- Mode: {'quick (smoke: smallest and largest case, each measured once)' if args.quick else 'full'}",
        "- Rerun: `python bench/run_bench.py` (full, writes this file) or "
        "`python bench/run_bench.py --quick` (CI smoke, prints only)",
        "",
        "Wall times are the best of N runs. Ratios compare against a baseline measured in the "
        "same run, so they are the numbers to compare across machines. This is a benchmark: "
        "nothing here is asserted.",
        "",
        f"## 1. Start-up baseline (best of {startup_repeat})",
        "",
        "| Command | Wall time | × `python -c pass` |",
        "|---|---:|---:|",
        f"| `python -c \"pass\"` | {fmt_s(t_pass)} | 1.00× |",
        f"| `python -c \"import zdverify\"` | {fmt_s(t_import)} | {fmt_x(t_import / t_pass)} |",
        "",
        f"## 2. Examples through the CLI, interpreter start-up included (best of {cli_repeat})",
        "",
        f"Command: `{cli_cmd}`. Exit codes: 0 proved, 1 counterexample, 2 error, 3 inconclusive.",
        "",
        "| Example | Wall time | Exit code | × import baseline | Over import baseline |",
        "|---|---:|---|---:|---:|",
    ]
    for name, secs, rc in example_rows:
        lines.append(f"| {name} | {fmt_s(secs)} | {rc} ({EXIT_MEANING.get(rc, '?')}) | "
                     f"{fmt_x(secs / t_import)} | {fmt_s(secs - t_import)} |")
    slowest = max(example_rows, key=lambda r: r[1])
    lines += [
        "",
        f"Slowest example: {slowest[0]} at {fmt_s(slowest[1])} including start-up "
        f"({'under' if slowest[1] < 1 else 'NOT under'} one second).",
        "",
        f"## 3. Scale series, in-process `verify()` (best of {scale_repeat}; once past {ONCE_PAST_S:g} s)",
        "",
        "Manifests are generated from the examples by replacing `replicas: 3` with R and, for the "
        "25% variant, `maxSurge: 1` / `maxUnavailable: 0` with `25%`. States/edges come from "
        "`results[0].stats`; \"(reduced)\" marks rollouts past 20,000 controller states, whose "
        "graph facts come from the two reduced graphs (model/checker/graph.py `facts`); \"+ N per node\" "
        "counts the states of the per-node exploration for Local traffic under placement rules "
        "(`node_facts`, bounded by a work budget). The ratio is against the 3 nodes × 3 replicas case "
        "of the same manifest and strategy.",
        "",
        "| Manifest | Strategy | Nodes × replicas | Wall time | × (3×3) | Verdicts | States | Edges |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for r in scale_rows:
        lines.append(f"| {r.manifest} | {r.strategy} | {r.nodes} × {r.replicas} | {fmt_s(r.seconds)} | "
                     f"{fmt_x(r.ratio)} | {r.verdicts} | {r.states} | {r.edges} |")
    errors = [r for r in scale_rows if r.error]
    if errors:
        lines += ["", "Errors:", ""] + [f"- {r.manifest} [{r.strategy}] {r.nodes}×{r.replicas}: {r.error}"
                                       for r in errors]
    big = [r for r in scale_rows if (r.nodes, r.replicas) == SCALE_CASES[-1] and not r.error]
    if big:
        worst = max(big, key=lambda r: r.seconds)
        lines += ["", f"Slowest {SCALE_CASES[-1][0]} nodes × {SCALE_CASES[-1][1]} replicas case: "
                      f"{worst.manifest} [{worst.strategy}] at {fmt_s(worst.seconds)}."]
    lines += [
        "",
        f"## 4. User properties (spec language), in-process `verify()` (best of {scale_repeat})",
        "",
        "The same manifests with the built-in properties only, then with the example spec files "
        f"({', '.join('`' + f + '`' for f in SPEC_FILES)}) added: every property compiled to Z3 and, "
        "for each candidate run, evaluated by the simulator. The ratio is the second time over the first.",
        "",
        "| Manifest | Nodes × replicas | Built-ins | + spec files | × | User verdicts |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for manifest, nodes, replicas, t0, t1, verdicts in spec_rows:
        lines.append(f"| {manifest} | {nodes} × {replicas} | {fmt_s(t0)} | {fmt_s(t1)} | {fmt_x(t1 / t0)} | "
                     f"{verdicts} |")
    try:
        import resource
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        lines += ["", f"Peak RSS of the benchmark process (scale series, in-process): {peak_mb:.0f} MiB."]
    except (ImportError, OSError):
        pass
    if fleet_rows:
        lines += ["", "## 5. Fleet sizes through the CLI (once each; the grid's templates)", "",
                  "| Case | Wall | CPU | Peak | Exit code | Verdicts |", "|---|---:|---:|---:|---|---|"]
        lines += [f"| {label} | {fmt_s(t)} | {fmt_s(cpu)} | {peak:.0f} MiB | {rc} ({EXIT_MEANING.get(rc, '?')}) | {v} |"
                  for label, t, cpu, peak, rc, v in fleet_rows]
    if jobs_rows:
        base = jobs_rows[0][1]
        lines += ["", "## 6. `--jobs` on the examples directory (once each; same output)", "",
                  "| Jobs | Wall time | × jobs 1 |", "|---:|---:|---:|"]
        lines += [f"| {j} | {fmt_s(t)} | {fmt_x(t / base)} |" for j, t, _ in jobs_rows]
    lines += grid.markdown(grid_rows, level)
    if checkov_rows:
        lines += ["", f"## 8. Against Checkov on the same file (whole processes, best of {cli_repeat})", "",
                  "`python -m zdverify FILE` (likelihood on, the default) against `checkov -f FILE --framework "
                  "kubernetes --quiet --compact --skip-download`, both from a warm disk cache.", "",
                  "| File | zdverify | Checkov | zdverify / Checkov |", "|---|---:|---:|---:|"]
        lines += [f"| {n} | {fmt_s(a)} | {fmt_s(b)} | {a / b:.2f} |" for n, a, b in checkov_rows]
    text = "\n".join(lines) + "\n"

    print(text)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        print(f"[bench] wrote {output}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
