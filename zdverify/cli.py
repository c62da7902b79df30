"""Command line: ``zdverify [OPTIONS] PATH...``.

Exit codes: 0 every property proved, 1 a counterexample, 2 input or usage error,
3 inconclusive (no counterexample, but no proof either). Errors go to stderr as
``FILE:LINE: error: MESSAGE``. An error in the run itself (a flag, the config, cluster or
spec file) stops it: nothing is written. An error in one input document or object is
collected instead and every one is reported: when anything else was verified, the report
(stdout and every --report) lists the errors beside the results; when nothing was, nothing
is written. Either way the run exits 2.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import click
from rich.console import Console
from rich.text import Text

from zdverify import __version__, config
from zdverify.api import verify
from zdverify.model.assumptions import BOUNDS, DEFAULT_K8S_VERSION, LB_PROFILES, settings
from zdverify.model.cluster import MAX_NODES
from zdverify.model.load import MAX_INPUT_BYTES, decode_text
from zdverify.model.parallel import default_jobs, parse_shard
from zdverify.model.source import InputError, InputProblem, Loc, escape_controls
from zdverify.model.verdict import NoteKind, Report, Verdict
from zdverify.reports.formats import render

EXIT_PROVED = 0
EXIT_COUNTEREXAMPLE = 1
EXIT_ERROR = 2
EXIT_INCONCLUSIVE = 3
EXIT_INTERRUPTED = 130  # never 1: an interrupted run is not a counterexample

STDIN = "-"

EPILOG = """\b
Examples:
  zdverify deploy.yaml --nodes 3
  helm template . | zdverify -
  kustomize build overlays/prod | zdverify -
  zdverify k8s/ -o json
  zdverify deploy.yaml --assume app-startup=0s..30s
  zdverify k8s/ --report sarif=zdverify.sarif --report markdown=zdverify.md
  sudo zdverify replay deploy.yaml   (replay the counterexample on a real Linux data plane)

\b
Exit codes:
  0  every property proved
  1  a counterexample was found
  2  input or usage error
  3  inconclusive: no counterexample, but no proof either
"""


def _parse_assume(_ctx: click.Context, _param: click.Parameter, values: Sequence[str]) -> dict[str, str]:
    """``KEY=RANGE`` pairs into a dict; the bounds themselves are checked by the model."""
    pairs: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=RANGE such as app-startup=0s..30s, got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def _parse_shard(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        return parse_shard(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _parse_reports(_ctx: click.Context, _param: click.Parameter, values: Sequence[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for item in values:
        fmt, sep, path = item.partition("=")
        if not sep or fmt not in config.FORMATS or not path:
            raise click.BadParameter(
                f"expected FORMAT=PATH with FORMAT one of {', '.join(config.FORMATS)}, got {item!r}")
        out.append((fmt, path))
    return tuple(out)


class _Cli(click.Group):
    """``zdverify PATH...`` verifies; ``zdverify properties`` lists the properties. Any first
    argument that is not a subcommand name is a PATH for the default command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--version", "-V")):
            args = ["verify", *args]  # including --help: the verify command's help is the one users need
        return super().parse_args(ctx, args)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog=EPILOG)
@click.version_option(__version__, "--version", "-V", prog_name="zdverify", message="%(prog)s %(version)s")
def main() -> None:
    """Prove that a rolling update of each Deployment, DaemonSet and StatefulSet (and a bare
    Pod's replacement) drops no requests through the Services that select it, or print the
    timed counterexample.

    zdverify [OPTIONS] PATH...  (the verify command; see zdverify verify --help)
    """


def entry() -> None:
    """The ``zdverify`` command: ``main``, then exit without the interpreter's teardown.

    A run's report is written and flushed by then (``_emit``); what teardown would still do
    is free Z3 contexts, modules and caches one by one — ~80 ms of a one-second run, for
    nothing. Only the exit code is kept; a stream that cannot be flushed at the end is an
    error (exit 2) as it would be in ``_emit``."""
    try:
        main(prog_name="zdverify")
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_ERROR)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            if stream is sys.stdout:  # the report did not arrive; an unwritable stderr keeps the code
                code = EXIT_ERROR
    os._exit(code)


@main.command("properties")
@click.option("--format", "-o", "output_format", type=click.Choice(["text", "markdown"]), default="text",
              show_default=True, help="Output format.")
@click.option("--spec", "specs", metavar="FILE", multiple=True,
              help="Also list the properties of this spec file (repeatable).")
def properties_command(output_format: str, specs: tuple[str, ...]) -> None:
    """List the properties zdverify checks, with their ids, claims and remediation."""
    from zdverify.reports.catalogue import render_catalogue
    from zdverify.specs import registry
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        props = registry.load(specs)
    except InputError as e:
        _error(err, "error", e.message, e.loc)
        sys.exit(EXIT_ERROR)
    _emit(err, render_catalogue(props, output_format))


class _DefaultContext(click.Context):
    """The default command's context: usage lines and hints say ``zdverify``, not the
    ``verify`` subcommand the user never typed."""

    @property
    def command_path(self) -> str:
        return self.find_root().info_name or "zdverify"


class _DefaultCommand(click.Command):
    context_class = _DefaultContext


@main.command("replay", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("paths", nargs=-1, required=True, metavar="REPORT.json | PATH...")
@click.option("--property", "prop", metavar="NAME", default=None,
              help="Replay this property's first counterexample (default: the first counterexample).")
@click.option("--time-scale", "scale", type=click.FloatRange(min=0.05, max=10), default=1.0, show_default=True,
              help="Real seconds per second of the run (0.5: twice as fast).")
@click.option("--period-ms", "period_ms", type=click.IntRange(min=2, max=1000), default=None,
              help="A new client connection every this many milliseconds.  [default: 20, shorter (down to 2) "
                   "when the predicted window is short]")
@click.option("--with-fix", "with_fix", is_flag=True,
              help="Replay the same run with the suggested fix applied (exit 0 when no request fails).")
@click.option("--balancer", type=click.Choice(["auto", "haproxy", "l4"]), default="auto", show_default=True,
              help="A health-checking load balancer (Local, pod IP targets) as haproxy checking every node for "
                   "real, or an L4 DNAT one following the run's verdicts (fails open like an NLB); auto: haproxy "
                   "where it reproduces the run.")
@click.option("--client", "client", type=click.Choice(["auto", "new", "pooled"]), default="auto",
              show_default=True, help="New connections, or pooled keep-alive ones (auto: pooled for connection-reuse).")
@click.option("--nodes", type=click.IntRange(min=1, max=16), default=None, help="As for verify (manifests only).")
@click.option("--k8s-version", metavar="X.Y", default=None, help="As for verify (manifests only).")
@click.option("--lb", "lb", type=click.Choice(list(LB_PROFILES)), default=None, help="As for verify (manifests only).")
def replay_command(paths: tuple[str, ...], prop: str | None, scale: float, period_ms: int | None, with_fix: bool,
                   balancer: str, client: str, nodes: int | None, k8s_version: str | None, lb: str | None) -> None:
    """Replay a counterexample on a real Linux data plane (root, or CAP_NET_ADMIN and
    CAP_SYS_ADMIN; iproute2 and iptables): network namespaces per node and pod,
    kube-proxy-shaped iptables rules applied at each node's own instants, servers that close
    and exit on the run's schedule, and a client opening new connections through the
    violation's entry. Reads a saved JSON report (zdverify ... -o json) or verifies the
    manifests first. Exit 1 when requests failed, 0 when none did, 2 for bad input, 3 when
    the data plane could not be built. Everything it creates is removed on exit."""
    from zdverify.dataplane import DataPlaneError
    from zdverify.replay import counterexample, modes, read_report, replay
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        if len(paths) == 1 and paths[0].endswith(".json"):
            found = counterexample(read_report(paths[0]), prop, with_fix, paths[0])
        else:
            found = _counterexample_of(paths, prop, nodes, k8s_version, lb, with_fix)
        schedule = found["fix_schedule"] if with_fix else found["schedule"]
        if with_fix and balancer == "auto":  # the fix replays through the load balancer its counterexample did
            used = modes(found["schedule"]).lb
            balancer = used if used in ("haproxy", "l4") else "auto"
        period = None if period_ms is None else period_ms / 1000
        outcome = replay(schedule, scale, period, say=lambda text: err.print(f"zdverify replay: {text}"),
                         lb=balancer, client=client)
    except InputError as e:
        _error(err, "error", e.message, e.loc)
        sys.exit(EXIT_ERROR)
    except DataPlaneError as e:
        _error(err, "error", f"cannot build the data plane: {e}")
        sys.exit(EXIT_INCONCLUSIVE)
    except KeyboardInterrupt:
        _error(err, "error", "interrupted (the data plane was removed)")
        sys.exit(EXIT_INTERRUPTED)
    _emit(err, outcome.text(scale, with_fix))
    sys.exit(EXIT_COUNTEREXAMPLE if outcome.failed else EXIT_PROVED)


def _counterexample_of(paths: Sequence[str], prop: str | None, nodes: int | None, k8s_version: str | None,
                       lb: str | None, with_fix: bool = False) -> dict:
    """Verify manifests and take a counterexample as the JSON report carries it."""
    import json
    from zdverify.replay import counterexample
    from zdverify.reports.json_report import render_json
    report = verify(paths, nodes=nodes, k8s_version=k8s_version, lb=lb)
    if report.errors:
        raise InputError(report.errors[0].message, report.errors[0].loc)
    if report.verdict is not Verdict.COUNTEREXAMPLE:
        raise InputError(f"no counterexample{f' for {prop}' if prop else ''} to replay: no property has a "
                         "counterexample")
    return counterexample(json.loads(render_json(report)), prop, with_fix, ", ".join(paths))


@main.command(
    "verify",
    cls=_DefaultCommand,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path(allow_dash=True))
@click.option("--nodes", type=click.IntRange(min=1, max=MAX_NODES), default=None,
              help="Number of nodes (each runs its own kube-proxy).  [default: 3]")
@click.option("--k8s-version", metavar="X.Y", default=None,
              help=f"Kubernetes minor version whose behaviour is modelled.  [default: {DEFAULT_K8S_VERSION}]")
@click.option("--format", "-o", "output_format", type=click.Choice(config.FORMATS), default=None,
              help="Report format written to stdout.  [default: text]")
@click.option("--report", "reports", metavar="FORMAT=PATH", multiple=True, callback=_parse_reports,
              help="Also write a report to a file (repeatable), e.g. sarif=zdverify.sarif.")
@click.option("--from", "previous", metavar="OLD", multiple=True,
              help="The manifests running now (file or directory, repeatable): old pods run their templates.")
@click.option("--context", "context", metavar="PATH", multiple=True,
              help="More manifests the given ones pair with (repeatable), e.g. the repository: a changed "
                   "Deployment is checked with its Service from another file; only the given files are reported on.")
@click.option("--cluster", "cluster", metavar="FILE", default=None,
              help="Cluster file: named nodes (labels, zones, taints), version, load balancer, bounds.")
@click.option("--lb", "lb", type=click.Choice(list(LB_PROFILES)), default=None,
              help="Load-balancer health-check profile for externalTrafficPolicy: Local.  [default: generic]")
@click.option("--drain", "drain", metavar="NODE", default=None,
              help="Check a `kubectl drain NODE` (evictions under PodDisruptionBudgets) instead of a rollout.")
@click.option("--spec", "specs", metavar="FILE", multiple=True,
              help="A spec file with more properties to check (repeatable); see `zdverify properties`.")
@click.option("--property", "selected", metavar="ID", multiple=True,
              help="Check only this property, by id (ZDV002) or name (termination); repeatable.")
@click.option("--assume", "assume", metavar="KEY=RANGE", multiple=True, callback=_parse_assume,
              help="Override a timing bound, e.g. app-startup=0s..30s (repeatable). KEY is one of: "
              + ", ".join(b.key for b in BOUNDS) + ".")
@click.option("--likelihood-runs", "likelihood_runs", type=click.IntRange(min=0, max=100_000), default=200,
              show_default=True,
              help="Random rollouts simulated per counterexample to say how likely it is (every delay uniform "
                   "within its bound; not a measured distribution); 0: none.")
@click.option("--jobs", "-j", "jobs", type=click.IntRange(min=1, max=256), default=None,
              help="Processes checking (workload, Service) pairs at once; the output does not depend on it.  "
                   "[default: the machine's cores]")
@click.option("--time-budget", "time_budget", type=click.FloatRange(min=1, max=86_400), default=600,
              show_default=True, metavar="SECONDS",
              help="Per workload and Service: what is not decided within it is inconclusive (exit 3), never proved.")
@click.option("--shard", "shard", metavar="I/N", default=None, callback=_parse_shard,
              help="Check only shard I of N of the workloads (a stable hash of each workload), for a CI "
                   "matrix; input errors are reported by shard 1. See the README on merging shard reports.")
@click.option("--soft-fail", is_flag=True, default=None,
              help="Exit 0 instead of 1 on a counterexample (reports are still written).")
@click.option("--allow-empty", is_flag=True, default=None,
              help="Exit 0 when nothing is verified (by default that is an error, exit 2).")
@click.option("--config", "config_path", metavar="PATH", default=None,
              help="Config file.  [default: .zdverify.yaml or .zdverify.yml in the working directory]")
@click.option("--stdin-filename", metavar="NAME", default="<stdin>", show_default=True,
              help="File name used for stdin in locations.")
@click.option("--debug", is_flag=True, help="Show a traceback for internal errors.")
def verify_command(
    paths: tuple[str, ...],
    nodes: int | None,
    k8s_version: str | None,
    output_format: str | None,
    reports: tuple[tuple[str, str], ...],
    previous: tuple[str, ...],
    context: tuple[str, ...],
    cluster: str | None,
    lb: str | None,
    drain: str | None,
    specs: tuple[str, ...],
    selected: tuple[str, ...],
    assume: dict[str, str],
    likelihood_runs: int,
    jobs: int | None,
    shard: tuple[int, int] | None,
    time_budget: float,
    soft_fail: bool | None,
    allow_empty: bool | None,
    config_path: str | None,
    stdin_filename: str,
    debug: bool,
) -> None:
    """Prove that a rolling update of each Deployment, DaemonSet and StatefulSet (and a bare
    Pod's replacement) drops no requests through the Services that select it, or print the
    timed counterexample.

    PATH is a manifest file, a directory (searched recursively for *.yaml and *.yml), or
    '-' for stdin. With no PATH, a piped stdin is read. `zdverify properties` lists the
    properties checked.
    """
    paths = _input_paths(paths)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        cfg = config.load(config.find(config_path))
        run = Run(
            paths=paths,
            nodes=nodes or cfg.nodes,
            cluster=cluster or cfg.cluster,
            previous=previous,
            context=context,
            likelihood_runs=likelihood_runs,
            jobs=jobs,
            shard=shard,
            time_budget=time_budget,
            k8s_version=k8s_version or cfg.k8s_version,
            output_format=output_format or cfg.format or "text",
            reports=cfg.reports + reports,
            lb=lb or cfg.lb,
            assume={**cfg.assume, **assume},
            specs=cfg.specs + specs,
            drain=drain,
            selected=selected or cfg.properties,
            soft_fail=soft_fail if soft_fail is not None else cfg.soft_fail,
            allow_empty=allow_empty if allow_empty is not None else cfg.allow_empty,
            stdin_name=stdin_filename,
            cfg=cfg,
        )
        report, output, files = _run(run, err)
        _write_files(files)
    except InputError as e:
        _error(err, "error", e.message, e.loc)
        sys.exit(EXIT_ERROR)
    except _NothingVerified as e:
        for problem in e.errors:
            _error(err, "error", problem.message, problem.loc)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        _error(err, "error", "interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as e:  # noqa: BLE001 - the last line of defence: no raw traceback
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (run with --debug for a traceback)"
        _error(err, "internal error", f"{type(e).__name__}: {e}{hint}")
        sys.exit(EXIT_ERROR)
    _emit(err, output)
    for problem in report.errors:
        _error(err, "error", problem.message, problem.loc)
    code = exit_code(report)
    sys.exit(EXIT_PROVED if code == EXIT_COUNTEREXAMPLE and run.soft_fail else code)


class _NothingVerified(Exception):
    """Input errors and nothing else verified: an ordinary input error, nothing is written."""

    def __init__(self, errors: Sequence[InputProblem]) -> None:
        super().__init__(str(errors[0]))
        self.errors = errors


@dataclass(frozen=True)
class Run:
    """One invocation: flags merged over the config file."""

    paths: tuple[str, ...]
    nodes: int | None
    cluster: str | None
    previous: tuple[str, ...]
    k8s_version: str | None
    output_format: str
    reports: tuple[tuple[str, str], ...]
    lb: str | None
    assume: dict[str, str]
    specs: tuple[str, ...]
    selected: tuple[str, ...]
    soft_fail: bool
    allow_empty: bool
    stdin_name: str
    cfg: config.Config
    drain: str | None = None
    context: tuple[str, ...] = ()
    likelihood_runs: int = 0
    jobs: int | None = None  # None: the machine's cores
    shard: tuple[int, int] | None = None
    time_budget: float = 600.0


def _run(run: Run, err: Console) -> tuple[Report, str, list[tuple[str, str]]]:
    """Verify and render everything in memory; raises :class:`InputError` for bad input.
    Nothing is written until the whole run succeeded."""
    settings(run.assume, run.k8s_version, run.lb)  # bad flags fail before any input is read
    stdin_text = _read_stdin(run.stdin_name) if STDIN in run.paths else None
    with _progress(err):
        report = verify(run.paths, nodes=run.nodes, cluster=run.cluster, previous=run.previous,
                        k8s_version=run.k8s_version,
                        assume=run.assume, lb=run.lb,
                        stdin_text=stdin_text, stdin_name=run.stdin_name, suppressions=run.cfg.suppress,
                        specs=run.specs, select=run.selected, drain=run.drain, allow_empty=run.allow_empty,
                        context=run.context, likelihood_runs=run.likelihood_runs,
                        jobs=run.jobs or default_jobs(), shard=run.shard, time_budget=run.time_budget)
    if report.errors and not report.results and run.shard is None:  # a shard may hold no workload
        raise _NothingVerified(report.errors)
    if not report.results and not run.allow_empty and run.shard is None:
        first = run.stdin_name if run.paths[0] == STDIN else run.paths[0]
        raise InputError(_nothing_to_verify(report), Loc(first, 1))
    color = run.output_format == "text" and _stdout_color()
    output = render(run.output_format, report, color)
    files = [(target, render(fmt, report)) for fmt, target in run.reports]
    return report, output, files


def _write_files(files: Sequence[tuple[str, str]]) -> None:
    """Every report, or none: each is written to a temporary file beside its target (in
    directories made for it), and only when all are written are they renamed into place; on
    a failure the temporary files and the directories made are removed. A target must not be
    a symbolic link (it is not followed: its target is not overwritten)."""
    for target, _ in files:
        path = Path(target)
        if path.is_symlink():
            raise InputError(f"--report: {target} is a symbolic link; not followed: give the file itself")
        if path.is_dir():
            raise InputError(f"--report: cannot write {target}: it is a directory")
    written: list[tuple[str, Path]] = []
    made: list[Path] = []
    try:
        for target, text in files:
            missing = [d for d in (Path(target).parent, *Path(target).parent.parents) if not d.exists()]
            for d in reversed(missing):
                d.mkdir()
                made.append(d)
            fd, tmp = tempfile.mkstemp(dir=Path(target).parent, prefix=".zdverify-", suffix=".tmp")
            written.append((tmp, Path(target)))
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # as open() would have made it, not mkstemp's 0600
        for tmp, path in written:
            os.replace(tmp, path)
    except OSError as e:
        for tmp, _ in written:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        for d in reversed(made):
            with contextlib.suppress(OSError):
                d.rmdir()
        raise InputError(f"--report: cannot write {e.filename or 'a report'}: {e.strerror or e}") from None


def exit_code(report: Report) -> int:
    """2 when the input had errors, else 0 proved, 1 counterexample, 3 inconclusive (a
    counterexample outranks inconclusive); suppressed results do not count."""
    if report.errors:
        return EXIT_ERROR
    match report.verdict:
        case Verdict.PROVED:
            return EXIT_PROVED
        case Verdict.COUNTEREXAMPLE:
            return EXIT_COUNTEREXAMPLE
        case Verdict.INCONCLUSIVE:
            return EXIT_INCONCLUSIVE


def _input_paths(paths: tuple[str, ...]) -> tuple[str, ...]:
    """The paths to load: no PATH means stdin, unless stdin is a terminal."""
    if paths.count(STDIN) > 1:
        raise click.UsageError("'-' (stdin) given more than once")
    if paths:
        return paths
    if sys.stdin is None or sys.stdin.isatty():
        raise click.UsageError("no input: give a FILE, a DIRECTORY, or '-' with manifests piped to stdin")
    return (STDIN,)


def _read_stdin(name: str) -> str:
    """Stdin as text; binary or non-UTF-8 input is an input error, like for files. On a
    terminal, say that it waits for input (instead of seeming to hang)."""
    if sys.stdin is None:
        raise InputError("stdin is closed: give a PATH, or pipe the manifests in")
    if sys.stdin.isatty():
        with contextlib.suppress(OSError, AttributeError):
            sys.stderr.write("zdverify: reading manifests from stdin (a terminal); end with Ctrl-D, or give a PATH\n")
            sys.stderr.flush()
    try:
        raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        if len(raw) > MAX_INPUT_BYTES:
            raise InputError(f"{name}: larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB; not read")
        return decode_text(raw, name)
    except OSError as e:
        raise InputError(f"cannot read stdin: {e.strerror or e}") from None


def _nothing_to_verify(report: Report) -> str:
    left = any(n.kind is NoteKind.LEFT_UNVERIFIED for n in report.notes)
    reason = ("no workload selected by a Service could be checked" if left else
              "no workload in the input is selected by a Service")
    return "\n  ".join([f"nothing to verify: {reason}", *(n.text for n in report.notes)])


@contextlib.contextmanager
def _progress(console: Console) -> Iterator[None]:
    """A transient spinner on an interactive stderr; nothing at all otherwise."""
    if not console.is_terminal:
        yield
        return
    with console.status("verifying rollouts…", spinner="dots"):
        yield


def _error(console: Console, label: str, message: str, loc: Loc | None = None) -> None:
    """``[LOC: ]LABEL: MESSAGE`` on stderr; the label is red on a terminal, nothing is re-wrapped."""
    text = Text(escape_controls(f"{loc}: ") if loc else "")
    text.append(f"{label}:", style="bold red")
    # a message is one line (continuation lines indented): no value in it can start a line of
    # its own in a CI log, such as a GitHub workflow command
    text.append(" " + escape_controls(message).replace("\n", "\n  "))
    with contextlib.suppress(OSError, ValueError, AttributeError):  # stderr closed or full: the exit code says it
        console.print(text)


def _stdout_color() -> bool:
    """Colour the text report only on a terminal, honouring NO_COLOR and FORCE_COLOR."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout is not None and sys.stdout.isatty()


def _emit(err: Console, output: str) -> None:
    """``_write_stdout``, or the error and exit 2."""
    try:
        _write_stdout(output)
    except StdoutError as e:
        _error(err, "error", str(e))
        sys.exit(EXIT_ERROR)


class StdoutError(Exception):
    """The report could not be written to stdout (closed, full disk)."""


def _write_stdout(output: str) -> None:
    """Write the finished report; a closed pipe (``| head``) is not an error, a closed
    stdout or a full device is (``StdoutError``)."""
    if sys.stdout is None:
        raise StdoutError("stdout is closed")
    try:
        sys.stdout.write(output)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError) as e:  # ENOSPC, EIO; ValueError: a closed file object
        with contextlib.suppress(OSError, ValueError):  # do not flush the rest again at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise StdoutError(f"cannot write the report to stdout: {getattr(e, 'strerror', None) or e}") from None
