"""Every Mermaid diagram the Markdown renderer writes parses with mermaid's own parser.

``tests/tools/mermaid-check.mjs`` runs ``mermaid.parse()`` under jsdom (npm packages pinned in
tests/tools/package.json). Without node or node_modules the tests skip locally and fail on CI.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from zdverify import verify
from zdverify.model.verdict import Verdict
from zdverify.reports.markdown import render_markdown

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tests" / "tools"
SCRIPT = TOOLS / "mermaid-check.mjs"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def _node() -> str:
    node = shutil.which("node")
    missing = [what for what, ok in (("node", node), ("tests/tools/node_modules/mermaid",
                                                        (TOOLS / "node_modules" / "mermaid").is_dir()),
                                     ("tests/tools/node_modules/jsdom", (TOOLS / "node_modules" / "jsdom").is_dir()))
               if not ok]
    if missing:
        message = f"mermaid check needs {', '.join(missing)} (npm ci --prefix tests/tools)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return node


def check(markdown: str) -> subprocess.CompletedProcess:
    return subprocess.run([_node(), str(SCRIPT)], input=markdown, capture_output=True, text=True,
                          timeout=120, cwd=TOOLS)


def diagram_count(output: str) -> int:
    m = re.search(r"^diagrams: (\d+), failed: (\d+)$", output, re.M)
    assert m, output
    return int(m.group(1))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_diagram_of_every_example_parses(example: Path) -> None:
    report = verify([str(example)])
    markdown = render_markdown(report, root=str(ROOT))
    done = check(markdown)
    assert done.returncode == 0, done.stdout + done.stderr
    counterexamples = [r for r in report.results
                       if r.verdict is Verdict.COUNTEREXAMPLE and r.suppressed is None]
    assert diagram_count(done.stdout) == 2 * len(counterexamples) == markdown.count("```mermaid")
    assert done.stdout.count("ok ") == 2 * len(counterexamples)
    assert done.stdout.count(" sequence\n") == done.stdout.count(" gantt\n") == len(counterexamples)


BROKEN = {
    "unterminated alias (semicolon)": "sequenceDiagram\n    participant kp2 as kube-proxy;node-2\n    kp2->>kp2: x",
    "message without text separator": "sequenceDiagram\n    participant a as A\n    a->>a hello",
    "arrow without target": "sequenceDiagram\n    participant a as A\n    a->>: hello",
    "unclosed rect": "sequenceDiagram\n    participant a as A\n    rect rgb(255, 220, 220)\n    a->>a: x",
    "gantt task without a time": "gantt\n    dateFormat x\n    section a\n    task without time",
    "gantt task with a bad time": "gantt\n    dateFormat x\n    section a\n    t :crit, soon, 5",
    "gantt task ending before it starts": "gantt\n    dateFormat x\n    section a\n    t :crit, 5000, 1000",
}


@pytest.mark.parametrize("diagram", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_diagram_fails(diagram: str) -> None:
    good = "sequenceDiagram\n    participant a as A\n    a->>a: fine"
    done = check(f"# r\n\n```mermaid\n{good}\n```\n\n```mermaid\n{diagram}\n```\n")
    assert done.returncode == 1, done.stdout + done.stderr
    assert diagram_count(done.stdout) == 2
    assert done.stdout.startswith("ok ") and "\nFAIL " in done.stdout


def test_unterminated_fence_fails_and_no_diagram_is_ok() -> None:
    assert check("```mermaid\nsequenceDiagram\n    a->>b: x\n").returncode == 1
    done = check("# nothing to draw\n")
    assert done.returncode == 0 and diagram_count(done.stdout) == 0


def test_hostile_text_still_parses() -> None:
    """Step text with Mermaid metacharacters: ; # % < > end : -> and a colon in names."""
    from test_markdown import hostile_report  # noqa: PLC0415 - sibling test module

    done = check(render_markdown(hostile_report()))
    assert done.returncode == 0, done.stdout + done.stderr
    assert diagram_count(done.stdout) == 2
