"""Command line: ``zdverify [OPTIONS] PATH...``.

Exit codes: 0 every property proved, 1 a counterexample, 2 input or usage error,
3 inconclusive (no counterexample, but no proof either). Errors go to stderr as
``FILE:LINE: error: MESSAGE``; stdout receives the report only, and only once the
whole run succeeded.
"""
from __future__ import annotations

import contextlib
import os
import sys
import traceback
from typing import Iterator, Sequence

import click
from rich.console import Console
from rich.text import Text

from zdverify import __version__
from zdverify.api import verify
from zdverify.model.assumptions import BOUNDS, DEFAULT_K8S_VERSION, settings
from zdverify.model.load import decode_text
from zdverify.model.source import InputError, Loc
from zdverify.model.verdict import Report, Verdict
from zdverify.reports.json_report import render_json
from zdverify.reports.text import render_text

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


@click.command(
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path(allow_dash=True))
@click.option("--nodes", type=click.IntRange(min=1), default=3, show_default=True,
              help="Number of nodes (each runs its own kube-proxy).")
@click.option("--k8s-version", metavar="X.Y", default=None,
              help=f"Kubernetes minor version whose behaviour is modelled.  [default: {DEFAULT_K8S_VERSION}]")
@click.option("--format", "-o", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report format written to stdout.")
@click.option("--assume", "assume", metavar="KEY=RANGE", multiple=True, callback=_parse_assume,
              help="Override a timing bound, e.g. app-startup=0s..30s (repeatable). KEY is one of: "
              + ", ".join(b.key for b in BOUNDS) + ".")
@click.option("--stdin-filename", metavar="NAME", default="<stdin>", show_default=True,
              help="File name used for stdin in locations.")
@click.option("--debug", is_flag=True, help="Show a traceback for internal errors.")
@click.version_option(__version__, "--version", prog_name="zdverify", message="%(prog)s %(version)s")
def main(
    paths: tuple[str, ...],
    nodes: int,
    k8s_version: str | None,
    output_format: str,
    assume: dict[str, str],
    stdin_filename: str,
    debug: bool,
) -> None:
    """Prove that a rolling update of each Deployment drops no requests through the
    Services that select it, or print the timed counterexample.

    PATH is a manifest file, a directory (searched recursively for *.yaml and *.yml), or
    '-' for stdin. With no PATH, a piped stdin is read.
    """
    paths = _input_paths(paths)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        report, output = _run(paths, nodes, k8s_version, output_format, assume, stdin_filename, err)
    except InputError as e:
        _error(err, "error", e.message, e.loc)
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
    _write_stdout(output)
    sys.exit(exit_code(report))


def _run(
    paths: tuple[str, ...],
    nodes: int,
    k8s_version: str | None,
    output_format: str,
    assume: dict[str, str],
    stdin_name: str,
    err: Console,
) -> tuple[Report, str]:
    """Verify and render in memory; raises :class:`InputError` for bad input."""
    settings(assume, k8s_version)  # bad flags fail before any input is read
    stdin_text = _read_stdin(stdin_name) if STDIN in paths else None
    with _progress(err):
        report = verify(paths, nodes=nodes, k8s_version=k8s_version, assume=assume,
                        stdin_text=stdin_text, stdin_name=stdin_name)
    if not report.results:
        raise InputError(_nothing_to_verify(report))
    output = render_json(report) if output_format == "json" else render_text(report, _stdout_color())
    return report, output


def exit_code(report: Report) -> int:
    """0 proved, 1 counterexample, 3 inconclusive (a counterexample outranks inconclusive)."""
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
    """Stdin as text; binary or non-UTF-8 input is an input error, like for files."""
    return decode_text(sys.stdin.buffer.read(), name)


def _nothing_to_verify(report: Report) -> str:
    reason = "no workload in the input is selected by a Service"
    return "\n  ".join([f"nothing to verify: {reason}", *report.notes])


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
    text = Text(f"{loc}: " if loc else "")
    text.append(f"{label}:", style="bold red")
    text.append(f" {message}")
    console.print(text)


def _stdout_color() -> bool:
    """Colour the text report only on a terminal, honouring NO_COLOR and FORCE_COLOR."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def _write_stdout(output: str) -> None:
    """Write the finished report; a closed pipe (``| head``) is not an error."""
    try:
        sys.stdout.write(output)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
