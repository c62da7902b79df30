"""What a run reads: files, directories, stdin — and what it must not read as plain YAML.

Real repositories hold more than rendered manifests. This stage decides, per argument:

1. A directory is searched recursively for ``*.yaml``/``*.yml`` (sorted), except:
   - a Helm chart (a directory with ``Chart.yaml``): its templates are not YAML until
     rendered, so the chart is skipped with a note naming the command
     (``helm template CHART | zdverify -``);
   - a kustomization (a directory with ``kustomization.yaml``, ``.yml`` or ``Kustomization``):
     its files are inputs to kustomize (bases, patches), not the objects applied. Each
     kustomization no other one in the tree refers to is rendered with ``kubectl kustomize``
     (else ``kustomize build``) when either is on PATH, otherwise skipped with a note.
2. A file with Go template actions (``{{ … }}``) that does not load as manifests is an
   unrendered template: skipped with a note, not an error. (A file whose ``{{ … }}`` sit in
   strings — alert descriptions of a PrometheusRule — loads and is used.)
3. Every other error is collected with its location (:class:`InputError`), and everything
   else is still loaded: one bad document costs only itself.

Positions in rendered kustomize output are lines of that output, named
``DIR (kubectl kustomize)``; the note says so.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

from zdverify.model.load import Document, decode_text, load_text, read_capped
from zdverify.model.source import InputError, Loc
from zdverify.model.verdict import Note, NoteKind

YAML_SUFFIXES = (".yaml", ".yml")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
CHART_FILE = "Chart.yaml"
KUSTOMIZE_TIMEOUT_S = 120
_TEMPLATE_ACTION = re.compile(r"\{\{.*?\}\}")


@dataclass(frozen=True)
class Inputs:
    """Documents read, the located errors met on the way, and notes on what was skipped."""

    docs: tuple[Document, ...]
    problems: tuple[InputError, ...] = ()
    notes: tuple[Note, ...] = ()
    templated: Mapping[str, int] = field(default_factory=dict)  # file (origin) -> line of its first {{ … }}


@dataclass
class _Gathering:
    docs: list[Document]
    problems: list[InputError]
    notes: list[Note]
    templated: dict[str, int]

    def add_text(self, text: str, name: str, scope: str = "") -> None:
        found: list[InputError] = []
        docs = load_text(text, name, found)
        if scope:
            docs = [replace(d, scope=scope) for d in docs]
        action = _TEMPLATE_ACTION.search(text)
        if action is not None:
            self.templated[name] = text.count("\n", 0, action.start()) + 1
            if found:  # does not load: an unrendered template, not broken YAML
                self.notes.append(Note(NoteKind.SKIPPED, template_note(name, self.templated[name])))
                return
        self.docs.extend(docs)
        self.problems.extend(found)


def template_note(name: str, line: int) -> str:
    """Why a file with template actions was skipped, and how to verify it."""
    return (f"{name}: template syntax ({{{{ … }}}} at line {line}), not a manifest; skipped — render it "
            f"first: helm template RELEASE CHART | zdverify -")


def gather(paths: Sequence[str], stdin_text: str | None = None, stdin_name: str = "<stdin>",
           allow_empty: bool = False) -> Inputs:
    """Read every argument; errors are collected, never raised one at a time."""
    g = _Gathering([], [], [], {})
    for arg in paths:
        if arg == "-":
            text = sys.stdin.read() if stdin_text is None else stdin_text
            g.add_text(text, stdin_name)
            continue
        try:
            _gather_path(arg, allow_empty, g)
        except InputError as e:
            g.problems.append(e)
    return Inputs(tuple(g.docs), tuple(g.problems), tuple(g.notes), dict(g.templated))


def _gather_path(arg: str, allow_empty: bool, g: _Gathering) -> None:
    path = Path(arg)
    if path.is_dir():
        _gather_dir(path, arg, allow_empty, g)
        return
    if not path.exists():
        raise InputError(f"{arg}: no such file or directory")
    if path.name in KUSTOMIZATION_FILES:
        _kustomize(path.parent, g)
        return
    try:
        g.add_text(read_file(arg), arg)
    except InputError as e:
        g.problems.append(e)


def _gather_dir(path: Path, arg: str, allow_empty: bool, g: _Gathering) -> None:
    try:
        everything = sorted(p for p in path.rglob("*") if p.is_file())
    except OSError as e:
        raise InputError(f"cannot read directory {arg}: {e.strerror or e}") from None
    charts = sorted({p.parent for p in everything if p.name == CHART_FILE})
    kustomizations = sorted({p.parent for p in everything if p.name in KUSTOMIZATION_FILES})
    owned = [*charts, *kustomizations]
    files = [p for p in everything if p.suffix in YAML_SUFFIXES and not any(_under(p, d) for d in owned)]
    if not files and not owned and not allow_empty:
        raise InputError(f"{arg}: directory contains no .yaml or .yml files (--allow-empty: nothing to verify "
                         "is not an error)")
    for chart in charts:
        if not any(_under(chart, k) for k in kustomizations):
            g.notes.append(Note(NoteKind.SKIPPED, f"{chart}: a Helm chart, not rendered; skipped — verify it "
                                f"rendered: helm template RELEASE {chart} | zdverify -"))
    for root in _top_kustomizations(kustomizations):
        _kustomize(root, g)
    inside = path.resolve()
    for file in files:
        if file.is_symlink() and not file.resolve().is_relative_to(inside):
            g.notes.append(Note(NoteKind.SKIPPED, f"{file}: a symbolic link to a file outside {arg}; not followed "
                                "(give the file itself to read it)"))
            continue
        try:
            g.add_text(read_file(str(file)), str(file))
        except InputError as e:
            g.problems.append(e)


def _under(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _top_kustomizations(roots: Sequence[Path]) -> list[Path]:
    """Kustomizations no other one in the tree refers to (as a resource, base or component):
    the overlays a user applies; their bases are rendered as part of them."""
    referred: set[Path] = set()
    for root in roots:
        for entry in _references(root):
            target = (root / entry).resolve()
            referred.update(r for r in roots if r.resolve() == target)
    return [r for r in roots if r not in referred]


def _references(root: Path, remote: bool = False) -> list[str]:
    """The paths a kustomization lists under resources, bases and components: local ones,
    or (``remote``) those kustomize would fetch over the network."""
    data = _kustomization(root)
    entries = [e for key in ("resources", "bases", "components") for e in (data.get(key) or [])
               if isinstance(e, str)]
    return [e for e in entries if _is_remote(e) == remote]


def _kustomization(root: Path) -> dict:
    file = root / _kustomization_name(root)
    try:
        docs = load_text(decode_text(read_capped(str(file)), str(file)), str(file), [])
    except (OSError, InputError):
        return {}
    return docs[0].data if docs and isinstance(docs[0].data, dict) else {}


def _is_remote(entry: str) -> bool:
    return "://" in entry or entry.startswith(("github.com/", "git@", "gitlab.com/", "bitbucket.org/")) \
        or "?ref=" in entry


def _offline_obstacle(root: Path, seen: set[Path] | None = None) -> str | None:
    """Why rendering would leave the machine or need more than kustomize: a remote base,
    or a Helm chart to inflate (in this kustomization or a local one it refers to)."""
    seen = set() if seen is None else seen
    if root.resolve() in seen or not root.is_dir():
        return None
    seen.add(root.resolve())
    remote = _references(root, remote=True)
    if remote:
        return f"it refers to a remote base ({remote[0]}), which zdverify does not fetch"
    if _kustomization(root).get("helmCharts"):
        return "it inflates Helm charts (helmCharts: needs --enable-helm and helm)"
    for entry in _references(root):
        why = _offline_obstacle(root / entry, seen)
        if why:
            return why
    return None


def _kustomize(root: Path, g: _Gathering) -> None:
    """Render a kustomization with kubectl (or kustomize) when one is on PATH; else a note."""
    command = _kustomize_command(root)
    where = Loc(str(root / _kustomization_name(root)), 1)
    if command is None:
        g.notes.append(Note(NoteKind.SKIPPED, f"{root}: a kustomization, not rendered (neither kubectl nor "
                            f"kustomize is on PATH); skipped — verify it rendered: kubectl kustomize {root} | zdverify -"))
        return
    obstacle = _offline_obstacle(root)
    if obstacle:
        g.notes.append(Note(NoteKind.SKIPPED, f"{root}: a kustomization, not rendered: {obstacle}; skipped — "
                            f"verify it rendered: kubectl kustomize {root} | zdverify -"))
        return
    try:
        done = subprocess.run(command, capture_output=True, timeout=KUSTOMIZE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        g.problems.append(InputError(f"{' '.join(command)}: could not render the kustomization: {e}", where))
        return
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        g.problems.append(InputError(f"{' '.join(command)} failed: {reason[-1] if reason else done.returncode}",
                                     where))
        return
    name = f"{root} ({command[0]} {'kustomize' if command[0] == 'kubectl' else 'build'})"
    g.notes.append(Note(NoteKind.ASSUMPTION, f"{root}: a kustomization, rendered with {' '.join(command)}; "
                        f"lines named '{name}' count in that output"))
    try:
        g.add_text(decode_text(done.stdout, name), name, scope=name)
    except InputError as e:
        g.problems.append(e)


def _kustomize_command(root: Path) -> list[str] | None:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize", str(root)]
    if shutil.which("kustomize"):
        return ["kustomize", "build", str(root)]
    return None


def _kustomization_name(root: Path) -> str:
    return next((n for n in KUSTOMIZATION_FILES if (root / n).is_file()), KUSTOMIZATION_FILES[0])


def read_file(file: str) -> str:
    """A file's text; binary or non-UTF-8 content is an input error."""
    try:
        raw = read_capped(file)
    except OSError as e:
        raise InputError(f"cannot read {file}: {e.strerror or e}") from None
    return decode_text(raw, file)


def load_paths(paths: Sequence[str], stdin_text: str | None = None, stdin_name: str = "<stdin>",
               allow_empty: bool = False) -> list[Document]:
    """:func:`gather`, strict: the first error is raised (for callers that need every input)."""
    inputs = gather(paths, stdin_text, stdin_name, allow_empty)
    if inputs.problems:
        raise inputs.problems[0]
    return list(inputs.docs)
