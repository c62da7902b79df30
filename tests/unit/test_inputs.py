"""What a run reads (model/inputs.py): errors collected per document, Helm charts and
templates skipped with a note, kustomizations rendered or skipped with a note."""
from __future__ import annotations

import os
import shutil
import stat
import textwrap
from pathlib import Path

import pytest

from zdverify.api import verify
from zdverify.model.inputs import gather
from zdverify.model.kube import build_objects
from zdverify.model.load import load_text
from zdverify.model.verdict import NoteKind

ROOT = Path(__file__).resolve().parents[2]
WEB = (ROOT / "examples/no-prestop.yaml").read_text()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_a_syntax_error_costs_only_its_document_and_every_error_is_located(tmp_path: Path) -> None:
    f = write(tmp_path / "m.yaml", """\
        kind: ConfigMap
        apiVersion: v1
        metadata: {name: a
        ---
        kind: ConfigMap
        apiVersion: v1
        metadata: {name: b}
        ---
        kind: ConfigMap
        key: [1, 2
        ---
        - a list
        """)
    inputs = gather([str(f)])
    assert [d.data["metadata"]["name"] for d in inputs.docs] == ["b"]
    assert [(e.loc.file, e.loc.line) for e in inputs.problems] == [(str(f), 3), (str(f), 10), (str(f), 12)]
    assert "YAML syntax error" in inputs.problems[0].message
    assert "expected a Kubernetes object" in inputs.problems[2].message
    assert inputs.docs[0].at("metadata", "name").line == 7  # positions count from the file's start


def test_an_invalid_object_costs_only_itself() -> None:
    problems: list = []
    bad = WEB.replace("replicas: 3", "replicas: many")
    text = bad + "---\n" + WEB.replace("name: nginx", "name: other", 1)
    objects = build_objects(load_text(text, "m.yaml"), problems)
    assert [w.name for w in objects.workloads] == ["other"]
    [(doc, error)] = problems
    assert doc.data["metadata"]["name"] == "nginx" and error.loc.line == WEB.splitlines().index("  replicas: 3") + 1


def test_empty_strings_take_the_api_servers_defaults() -> None:
    text = WEB.replace("    - port: 80", '    - port: 80\n      protocol: ""').replace(
        "  type: LoadBalancer", '  type: ""')
    assert text != WEB
    [service] = build_objects(load_text(text, "m.yaml")).services
    assert service.type.value == "ClusterIP" and service.ports[0].protocol == "TCP"


def test_a_helm_chart_is_skipped_with_the_command_to_render_it(tmp_path: Path) -> None:
    write(tmp_path / "chart/Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n")
    write(tmp_path / "chart/templates/d.yaml", "kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n")
    write(tmp_path / "web.yaml", WEB)
    inputs = gather([str(tmp_path)])
    assert inputs.problems == ()
    [note] = inputs.notes
    assert note.kind is NoteKind.SKIPPED and f"helm template RELEASE {tmp_path / 'chart'} | zdverify -" in note.text
    assert {d.origin for d in inputs.docs} == {str(tmp_path / "web.yaml")}


def test_a_template_file_is_skipped_but_template_text_inside_strings_is_read(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "kind: Service\napiVersion: v1\nmetadata:\n  name: {{ .Values.name }}\n")
    rule = write(tmp_path / "rule.yaml", """\
        apiVersion: monitoring.coreos.com/v1
        kind: PrometheusRule
        metadata: {name: r}
        spec:
          groups: [{name: g, rules: [{alert: A, annotations: {description: "{{ $labels.instance }} is down"}}]}]
        """)
    inputs = gather([str(tmp_path)])
    assert inputs.problems == () and [d.origin for d in inputs.docs] == [str(rule)]
    [note] = inputs.notes
    assert "a.yaml: template syntax ({{ … }} at line 4)" in note.text


def test_a_template_that_loads_but_builds_no_valid_object_is_skipped_too(tmp_path: Path) -> None:
    f = write(tmp_path / "svc.yaml", WEB.replace("replicas: 3", 'replicas: "{{ .Values.replicas }}"'))
    report = verify([str(f)], allow_empty=True)
    assert report.errors == () and report.results == ()
    assert any("template syntax" in n.text and n.kind is NoteKind.SKIPPED for n in report.notes)


def test_other_documents_are_verified_beside_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a/web.yaml", WEB)
    write(tmp_path / "b/bad.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: -1}\n")
    report = verify([str(tmp_path)])
    assert {r.workload for r in report.results} == {"Deployment/default/nginx"}
    [error] = report.errors
    assert error.loc.file.endswith("bad.yaml") and error.loc.line == 4


def _fake_kubectl(bin_dir: Path, output: str, code: int = 0) -> None:
    """A stand-in for kubectl on PATH: prints ``output`` for ``kubectl kustomize DIR``."""
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "rendered.yaml").write_text(output)
    script = bin_dir / "kubectl"
    script.write_text(f'#!/bin/sh\n[ "$1" = kustomize ] || exit 9\necho "$2" >> "{bin_dir}/calls"\n'
                      f'/bin/cat "{bin_dir}/rendered.yaml"\necho "Error: broken" >&2\nexit {code}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def _kustomize_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    write(tree / "base/kustomization.yaml", "resources: [deployment.yaml]\n")
    write(tree / "base/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n")
    write(tree / "overlays/prod/kustomization.yaml", "resources: [../../base]\nnamePrefix: prod-\n")
    write(tree / "overlays/prod/patch.yaml", "spec: {replicas: 3}\n")
    write(tree / "overlays/remote/kustomization.yaml", "resources: [github.com/org/repo//base?ref=v1]\n")
    return tree


def test_top_kustomizations_are_rendered_with_kubectl_and_bases_only_through_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _kustomize_tree(tmp_path)
    _fake_kubectl(tmp_path / "bin", WEB)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    inputs = gather([str(tree)])
    assert (tmp_path / "bin/calls").read_text().split() == [str(tree / "overlays/prod")]
    rendered = f"{tree / 'overlays/prod'} (kubectl kustomize)"
    assert {d.origin for d in inputs.docs} == {rendered} and {d.scope for d in inputs.docs} == {rendered}
    assert inputs.problems == ()
    texts = [n.text for n in inputs.notes]
    assert any("remote base (github.com/org/repo//base?ref=v1)" in t and "not rendered" in t for t in texts)


def test_renderings_pair_only_within_themselves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "tree"
    for overlay in ("dev", "prod"):
        write(tree / overlay / "kustomization.yaml", "resources: []\n")
    _fake_kubectl(tmp_path / "bin", WEB)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    report = verify([str(tree)], select=["termination"])
    # the same Deployment and Service in two renderings: each pairs with its own Service only
    assert sorted(r.source.file for r in report.results) == [f"{tree / 'dev'} (kubectl kustomize)",
                                                             f"{tree / 'prod'} (kubectl kustomize)"]


def test_a_failing_kustomization_is_a_located_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "k/kustomization.yaml", "resources: [missing.yaml]\n")
    _fake_kubectl(tmp_path / "bin", "", code=1)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    [error] = gather([str(tmp_path / "k")]).problems
    assert error.loc.file == str(tmp_path / "k/kustomization.yaml") and "Error: broken" in error.message


def test_without_kubectl_or_kustomize_a_kustomization_is_skipped_with_a_note(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _kustomize_tree(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    inputs = gather([str(tree)])
    assert inputs.docs == () and inputs.problems == ()
    assert any(f"kubectl kustomize {tree / 'overlays/prod'} | zdverify -" in n.text and "PATH" in n.text
               for n in inputs.notes)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
def test_a_real_kustomization_adds_the_selector_its_base_leaves_out(tmp_path: Path) -> None:
    base = WEB.replace("  selector:\n    matchLabels:\n      run: nginx\n", "", 1)
    assert base != WEB
    write(tmp_path / "k/web.yaml", base)
    write(tmp_path / "k/kustomization.yaml", "resources: [web.yaml]\nlabels:\n- pairs: {run: nginx}\n"
                                             "  includeSelectors: true\n")
    report = verify([str(tmp_path / "k")], select=["termination"], lb=None)
    assert report.errors == () and [r.workload for r in report.results] == ["Deployment/default/nginx"]
    assert os.path.basename(report.results[0].source.file) == "k (kubectl kustomize)"


def test_an_empty_directory_with_allow_empty_is_nothing_to_verify(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert gather([str(tmp_path / "empty")], allow_empty=True).problems == ()
    [error] = gather([str(tmp_path / "empty")]).problems
    assert "no .yaml or .yml files" in error.message
