"""Values from manifests in messages: short, escaped excerpts (model/source.py), and no
line of a text report or of stderr that a CI log would take for a command."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from zdverify.model.source import escape_controls, excerpt

ROOT = Path(__file__).resolve().parents[2]


def test_an_excerpt_is_short_escaped_and_says_what_it_left_out() -> None:
    assert excerpt("ok") == '"ok"'
    assert excerpt("a\n::error::x") == '"a\\n::error::x"'
    long = excerpt("password=" + "x" * 500)
    assert long.startswith('"password=') and "(… 469 more characters)" in long and len(long) < 80
    assert escape_controls("a\x1b[31mb\tc\nd") == "a\\x1b[31mb\tc\nd"


def test_a_linked_secret_outside_the_tree_is_neither_read_nor_echoed(tmp_path: Path) -> None:
    secret = tmp_path / "creds.txt"
    secret.write_text("user=admin password=hunter2\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "creds.yaml").symlink_to(secret)
    (repo / "app.yaml").write_text((ROOT / "examples" / "no-prestop.yaml").read_text())
    (repo / "bad.yaml").write_text('apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: "x\\n::error::pwned"\n')
    done = subprocess.run([sys.executable, "-m", "zdverify", str(repo), "--likelihood-runs", "0"], capture_output=True,
                          text=True, timeout=300)
    out = done.stdout + done.stderr
    assert "hunter2" not in out and "creds.yaml: a symbolic link to a file outside" in out
    assert not any(line.startswith("::") for line in out.splitlines()), out


def test_no_text_report_line_passes_for_a_workflow_command() -> None:
    """A file name (or any text) with a newline reaches the notes unquoted; the text report
    still starts no line with '::'."""
    from zdverify.model.verdict import Note, NoteKind, Report
    from zdverify.reports.text import render_text
    text = render_text(Report((), (Note(NoteKind.SKIPPED, "dir/a\n::error file=x::pwned.yaml: skipped"),)))
    assert "pwned" in text and not any(line.startswith("::") for line in text.splitlines()), text
