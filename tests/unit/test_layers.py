"""The layers of the house, checked from the imports (README, "Layout and tests").

The model is written twice on purpose — as the checker's constraints (``model/checker/``)
and as the simulator's steps (``model/simulator/``) — and the cross-check between them is
only worth something while the two halves stay independent. Only the orchestration
(search, explain, the candidate runs, the cause handlers) may call both; both speak the
neutral run vocabulary (``model/run.py``). Every import counts, including those inside
functions.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"zdverify": "zdverify", "model": "zdverify.model", "grammar": "zdverify.grammar",
            "specs": "zdverify.specs", "reports": "zdverify.reports"}
ORCHESTRATION = ("zdverify.model.search", "zdverify.model.explain", "zdverify.model.guided",
                 "zdverify.model.candidates", "zdverify.model.causes", "zdverify.model.fix_search",
                 "zdverify.model.likelihood", "zdverify.model.schedule")
CHECKER, SIMULATOR = "zdverify.model.checker", "zdverify.model.simulator"
RESULT_VOCABULARY = ("zdverify.model.verdict", "zdverify.model.source")


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT)
    parts = [PACKAGES[rel.parts[0]], *rel.parts[1:]]
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; ``from a import b`` counts a and a.b)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import"
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


MODULES = {_module(p): _imports(p) for d in PACKAGES for p in sorted((ROOT / d).rglob("*.py"))}


def _within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _offending(module_prefixes: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{m} imports {i}" for m, imps in MODULES.items() if _within(m, *module_prefixes)
            for i in sorted(imps) if _within(i, *forbidden)]


def test_the_modules_were_found() -> None:
    assert {f"{CHECKER}.kube_proxy", f"{SIMULATOR}.kube_proxy", "zdverify.model.run"} <= set(MODULES)


@pytest.mark.parametrize("component", ["application", "kubelet", "endpointslice", "kube_proxy", "load_balancer",
                                       "deployment", "daemonset", "statefulset", "drain", "scheduler"])
def test_every_component_has_a_room_on_both_sides(component: str) -> None:
    assert f"{CHECKER}.{component}" in MODULES and f"{SIMULATOR}.{component}" in MODULES


def test_the_simulator_imports_no_z3_and_nothing_of_the_checker() -> None:
    assert _offending((SIMULATOR,), ("z3", CHECKER) + ORCHESTRATION) == []


def test_the_checker_imports_nothing_of_the_simulator() -> None:
    assert _offending((CHECKER,), (SIMULATOR,) + ORCHESTRATION) == []


def test_the_neutral_model_imports_neither_half() -> None:
    """Objects, scenario, run vocabulary, placement rules: both halves build on them."""
    neutral = tuple(m for m in MODULES if _within(m, "zdverify.model")
                    and not _within(m, CHECKER, SIMULATOR, *ORCHESTRATION) and m != "zdverify.model")
    assert _offending(neutral, ("z3", CHECKER, SIMULATOR) + ORCHESTRATION) == []


def test_reports_import_only_the_result_vocabulary() -> None:
    bad = [f"{m} imports {i}" for m, imps in MODULES.items() if _within(m, "zdverify.reports")
           for i in sorted(imps) if _within(i, "zdverify") and not _within(i, "zdverify.reports", *RESULT_VOCABULARY)
           and i not in ("zdverify", "zdverify.__version__")]
    assert bad == []


def test_the_model_never_imports_reports_or_the_front_door() -> None:
    assert _offending(("zdverify.model", "zdverify.grammar", "zdverify.specs"),
                      ("zdverify.reports", "zdverify.cli", "zdverify.config", "zdverify.api")) == []


def test_running_the_simulator_loads_no_z3() -> None:
    """The import graph, not only the import lines: nothing the simulator pulls in loads z3."""
    code = ("import sys, zdverify.model.simulator.engine, zdverify.model.run; "
            "print(sorted(m for m in sys.modules if m == 'z3' or m.startswith(('z3.', 'zdverify.model.checker'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
