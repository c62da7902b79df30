"""YAML loading: go-yaml v2 typing, positions, duplicate keys, Lists, errors."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from zdverify.model.inputs import load_paths
from zdverify.model.load import KEY, Document, load_text
from zdverify.model.source import InputError, Loc


def load(text: str) -> list[Document]:
    return load_text(textwrap.dedent(text), "m.yaml")


def error(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        load(text)
    return info.value


def test_plain_data_and_value_positions() -> None:
    (doc,) = load(
        """\
        apiVersion: apps/v1
        kind: Deployment
        spec:
          replicas: 3
          template:
            spec:
              containers:
              - name: web
                ports:
                - containerPort: 80
        """
    )
    assert doc.data["spec"]["replicas"] == 3
    assert doc.loc == Loc("m.yaml", 1, 1)
    assert doc.source_file == "m.yaml"
    assert doc.locs[("kind",)] == Loc("m.yaml", 2, 7)
    assert doc.locs[("spec", "replicas")].line == 4
    assert doc.locs[("spec", "template", KEY)].line == 5
    assert doc.locs[("spec", "template")].line == 6  # the value starts on the next line
    item = ("spec", "template", "spec", "containers", 0)
    assert doc.locs[item] == Loc("m.yaml", 8, 9)
    assert doc.locs[item + ("ports", 0, "containerPort")].line == 10


@pytest.mark.parametrize(
    "scalar, expected",
    [
        ("on", True),
        ("yes", True),
        ("y", True),
        ("NO", False),
        ("Off", False),
        ('"on"', "on"),
        ("1.10", 1.1),
        ("0755", 493),
        ("0x1F", 31),
        ("12:30", "12:30"),
        ("1e3", 1000.0),
        ("2024-01-01", "2024-01-01"),
        ('"8080"', "8080"),
        ("25%", "25%"),
        ("~", None),
        ("None", "None"),
        ("=", "="),
    ],
)
def test_go_yaml_v2_typing(scalar: str, expected: object) -> None:
    (doc,) = load(f"kind: X\nv: {scalar}\n")
    assert doc.data["v"] == expected
    assert type(doc.data["v"]) is type(expected)


def test_non_string_keys_become_strings_like_sigs_k8s_yaml() -> None:
    (doc,) = load("kind: X\non: 1\n8080: a\n")
    assert doc.data == {"kind": "X", "true": 1, "8080": "a"}


def test_duplicate_key_is_an_error_at_the_second_key() -> None:
    e = error(
        """\
        kind: Deployment
        spec:
          replicas: 1
          paused: false
          replicas: 2
        """
    )
    assert e.loc == Loc("m.yaml", 5, 3)
    assert e.message == 'duplicate key "replicas" (first at line 3)'


def test_multi_document_stream_skips_empty_documents() -> None:
    docs = load(
        """\
        ---
        ---
        kind: A
        ---
        # only a comment
        ---
        ~
        ---
        kind: B
        ...
        """
    )
    assert [d.data["kind"] for d in docs] == ["A", "B"]
    assert [d.loc.line for d in docs] == [3, 9]


def test_list_expands_into_items_with_positions() -> None:
    docs = load(
        """\
        apiVersion: v1
        kind: List
        items:
        - kind: Service
          metadata:
            name: a
        - kind: Pod
          metadata:
            name: b
        """
    )
    assert [d.data["kind"] for d in docs] == ["Service", "Pod"]
    assert [d.loc.line for d in docs] == [4, 7]
    assert docs[1].locs[("metadata", "name")].line == 9
    assert docs[1].locs[("kind", KEY)].line == 7


def test_kinds_ending_in_list_expand_too() -> None:
    docs = load("kind: DeploymentList\nitems:\n- kind: Deployment\n- kind: Service\n")
    assert [d.data["kind"] for d in docs] == ["Deployment", "Service"]


def test_list_item_that_is_not_a_mapping() -> None:
    e = error("kind: List\nitems:\n- kind: A\n- just a string\n")
    assert e.loc is not None and e.loc.line == 4
    assert "expected a Kubernetes object (a mapping)" in e.message


@pytest.mark.parametrize("text", ["just a string\n", "- a\n- b\n", "42\n"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    e = error(text)
    assert "expected a Kubernetes object (a mapping)" in e.message
    assert e.loc is not None and e.loc.line == 1


def test_syntax_error_points_at_the_problem() -> None:
    e = error("kind: A\nmetadata:\n  name: x\n  bad: value: here\n")
    assert e.loc == Loc("m.yaml", 4, 13)
    assert e.message.startswith("YAML syntax error: mapping values are not allowed")


def test_helm_template_braces_are_a_located_syntax_error() -> None:
    e = error("kind: Deployment\nspec:\n  replicas: {{ .Values.replicas }}\n")
    assert e.loc is not None and e.loc.line == 3


def test_tabs_and_control_characters_are_located() -> None:
    assert error("kind: A\nspec:\n\tx: 1\n").loc.line == 3  # type: ignore[union-attr]
    assert error("kind: A\nx: \x01\n").loc.line == 2  # type: ignore[union-attr]


def test_anchors_aliases_and_merge_keys() -> None:
    (doc,) = load(
        """\
        kind: X
        base: &base
          a: 1
          b: 2
        derived:
          <<: *base
          b: 3
        copy: *base
        multi:
          <<: [{c: 1}, {c: 2, d: 4}]
        """
    )
    assert doc.data["derived"] == {"a": 1, "b": 3}
    assert doc.data["copy"] == {"a": 1, "b": 2}
    assert doc.data["multi"] == {"c": 1, "d": 4}
    assert doc.locs[("derived", "a")].line == 3  # where the merged value was written
    assert doc.locs[("derived", "b")].line == 7
    assert doc.locs[("derived",)].line == 6


def test_recursive_alias_is_an_error() -> None:
    assert "recursive" in error("kind: X\na: &a [*a]\n").message
    assert "recursive" in error("kind: X\na: &a\n  <<: *a\n").message


def test_alias_bomb_is_bounded() -> None:
    lines = ["kind: X", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]" for i in range(1, 9)]
    assert "too large" in error("\n".join(lines) + "\n").message


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    e = error("kind: X\na: " + "[" * 5000 + "]" * 5000 + "\n")
    assert e.loc is not None and e.loc.line >= 1


def test_tags() -> None:
    (doc,) = load("kind: X\nb: !!binary aGVsbG8=\nr: !Ref foo\ns: !!str 12\n")
    assert doc.data["b"] == b"hello"
    assert doc.data["r"] == "foo"
    assert doc.data["s"] == "12"
    assert error("kind: X\nb: !!int nope\n").loc.line == 2  # type: ignore[union-attr]


def test_helm_source_comment_is_recorded() -> None:
    docs = load(
        """\
        ---
        # Source: chart/templates/svc.yaml
        kind: Service
        ---
        kind: Unrelated
        ---
        # Source: chart/templates/deploy.yaml
        kind: Deployment
        """
    )
    assert [d.source_file for d in docs] == [
        "chart/templates/svc.yaml",
        "m.yaml",
        "chart/templates/deploy.yaml",
    ]
    # Helm output names the template in every location, counting lines from the comment
    assert docs[2].loc == Loc("chart/templates/deploy.yaml", 1, 1)
    assert docs[1].loc == Loc("m.yaml", 5, 1)


def test_load_paths_files_directories_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.yml").write_text("kind: B\n")
    (tmp_path / "sub" / "a.yaml").write_text("kind: A\n")
    (tmp_path / "notes.txt").write_text("kind: Ignored\n")
    single = tmp_path / "one.yaml"
    single.write_text("kind: One\n")
    docs = load_paths([str(tmp_path / "sub"), str(single), "-"], stdin_text="kind: S\n", stdin_name="<in>")
    assert [d.data["kind"] for d in docs] == ["A", "One", "S"]
    assert docs[0].loc.file == str(tmp_path / "sub" / "a.yaml")
    assert docs[2].loc.file == "<in>"
    docs = load_paths([str(tmp_path)])
    assert [d.data["kind"] for d in docs] == ["B", "One", "A"]  # sorted by path


def test_load_paths_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_paths([str(tmp_path / "missing.yaml")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .yaml or .yml files"):
        load_paths([str(tmp_path / "empty")])
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"kind: A\n\x00\x01\x02")
    with pytest.raises(InputError, match="binary") as info:
        load_paths([str(binary)])
    assert info.value.loc == Loc(str(binary), 2)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"kind: A\nname: caf\xe9\n")
    with pytest.raises(InputError, match="UTF-8") as info:
        load_paths([str(latin)])
    assert info.value.loc == Loc(str(latin), 2)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "bom.yaml"
    f.write_bytes(b"\xef\xbb\xbfkind: A\n")
    assert load_paths([str(f)])[0].data == {"kind": "A"}
