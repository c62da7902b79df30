"""Read YAML manifests into plain data plus a position for every value.

Typing follows go-yaml v2 (what kubectl and the API server use through sigs.k8s.io/yaml):
``on``/``yes``/``y`` are booleans, ``2024-01-01`` stays a string, ``0755`` is octal.
PyYAML composes the node tree (libyaml when available); the walk below turns it into
plain dicts/lists/scalars and a map from path tuple to :class:`Loc`, rejecting duplicate
keys and expanding ``kind: List``. Every failure becomes an :class:`InputError` with a
location — no YAML exception or ``RecursionError`` escapes.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from zdverify.model.source import InputError, Loc, excerpt

_BaseLoader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class K8sLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """libyaml speed, go-yaml v2 (sigs.k8s.io/yaml) implicit typing."""


_DROP = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:value",  # PyYAML resolves a bare "=" to a tag it cannot construct
}
K8sLoader.yaml_implicit_resolvers = {
    ch: [(t, rx) for t, rx in lst if t not in _DROP]
    for ch, lst in Resolver.yaml_implicit_resolvers.items()
}
K8sLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(
        r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE"
        r"|on|On|ON|off|Off|OFF)$"
    ),
    list("yYnNtTfFoO"),
)
K8sLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^[-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$"),
    list("-+0123456789"),
)
K8sLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
K8sLoader.add_constructor(
    "tag:yaml.org,2002:bool",
    lambda loader, node: loader.construct_scalar(node)
    in {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"},
)

_SOURCE_COMMENT = re.compile(r"^#\s*Source:\s*(\S.*?)\s*$")
_MAX_NODES = 200_000  # bounds alias expansion ("billion laughs")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STANDARD_TAG = "tag:yaml.org,2002:"
KEY = "<key>"  # path suffix under which a mapping key's own position is stored


@dataclass(frozen=True)
class Document:
    """One Kubernetes object as plain data, with positions.

    ``locs`` maps a path tuple (mapping keys and list indices, from the object root) to
    the position of the value there; ``path + (KEY,)`` holds the position of the key.
    ``source_file`` is the Helm ``# Source:`` path when there is one, else the file.
    """

    data: Any
    locs: Mapping[tuple, Loc]
    loc: Loc
    source_file: str
    origin: str = ""  # the file (or stdin name) it was read from, whatever ``# Source:`` says
    scope: str = ""  # a rendering of its own (a kustomization): its objects pair only with each other

    def at(self, *path: Any) -> Loc:
        """Position of the value at ``path``, else of the document."""
        return self.locs.get(tuple(path), self.loc)

    def check_keys(self, allowed: Sequence[str], *path: Any) -> None:
        """Unknown keys of the mapping at ``path`` are located errors (typos change nothing silently)."""
        mapping = self.data
        for key in path:
            mapping = mapping[key]
        prefix = "".join(f"[{k}]" if isinstance(k, int) else f"{k}." for k in path)
        for key in mapping:
            if key not in allowed:
                raise InputError(f"{prefix}unknown key {key!r}; known keys: {', '.join(allowed)}",
                                 self.at(*path, key))


MAX_INPUT_BYTES = 16 * 1024 * 1024  # per file (and stdin): more is refused before it is parsed


def read_capped(path: str) -> bytes:
    """A file's bytes, at most ``MAX_INPUT_BYTES`` (an endless one such as /dev/zero is
    refused after that many, not read whole); OSError as ``open`` raises it."""
    with open(path, "rb") as f:
        raw = f.read(MAX_INPUT_BYTES + 1)
    if len(raw) > MAX_INPUT_BYTES:
        raise InputError(f"{path}: larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB; not read (split it, or "
                         "verify its parts)")
    return raw


def load_settings_file(path: str, what: str) -> Document | None:
    """A settings file (config, cluster): one YAML mapping or nothing; errors located."""
    try:
        raw = read_capped(path)
    except OSError as e:
        raise InputError(f"--{what}: cannot read {path}: {e.strerror or e}") from None
    docs = load_text(decode_text(raw, path), path)
    if len(docs) > 1:
        raise InputError(f"a {what} file holds one YAML document", docs[1].loc)
    return docs[0] if docs else None


def decode_text(raw: bytes, name: str) -> str:
    """Bytes of a manifest as text; binary or non-UTF-8 content is a located input error."""
    if b"\0" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\0")) + 1
        raise InputError("binary input (contains NUL bytes), expected YAML", Loc(name, line))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise InputError("input is not UTF-8 text", Loc(name, line)) from None


def load_text(text: str, file: str, problems: list[InputError] | None = None) -> list[Document]:
    """Parse a YAML stream; one :class:`Document` per non-empty object.

    Without ``problems`` the first error is raised. With it, every error is appended and the
    rest still loaded: a bad object costs only itself; a syntax error that breaks the stream
    costs only its document (the stream is re-read document by document)."""
    if problems is None:
        return _load_stream(text, file, None)
    found: list[InputError] = []
    try:
        docs = _load_stream(text, file, found)
    except InputError:  # the parser lost its place: one document at a time
        docs, found = [], []
        for offset, chunk in _chunks(text):
            try:
                docs.extend(_shifted(d, file, offset) for d in _load_stream(chunk, file, found, offset))
            except InputError as e:  # an error at the chunk's end: on its last line, not the next
                last = offset + max(1, len(chunk.rstrip("\n").splitlines()))
                e = _shift_error(e, file, offset)
                found.append(InputError(e.message, replace(e.loc, line=min(e.loc.line, last))) if e.loc else e)
    problems.extend(found)
    return docs


def _load_stream(text: str, file: str, problems: list[InputError] | None, offset: int = 0) -> list[Document]:
    """The documents of a stream; an object's own error goes to ``problems`` when given
    (its errors are shifted by ``offset`` lines), a broken stream raises."""
    sources = _source_comments(text)
    docs: list[Document] = []
    loader = K8sLoader(text)
    prev_end = -1  # 0-based line where the previous document's root node ended
    try:
        while _check_node(loader, text, file):
            node = _get_node(loader, text, file)
            if node is None:
                continue
            start, end = node.start_mark.line, node.end_mark.line
            comment_line, source = next(
                ((line, s) for line, s in reversed(sources) if prev_end <= line <= start), (-1, file)
            )
            prev_end = end
            try:
                _document(loader, node, file, source, comment_line, docs)
            except InputError as e:
                if problems is None:
                    raise
                problems.append(_shift_error(e, file, offset))
    finally:
        loader.dispose()
    return docs


def _document(loader: Any, node: Node, file: str, source: str, comment_line: int, out: list[Document]) -> None:
    """Append the object(s) of one composed document."""
    walker = _Walker(loader, file)
    try:
        data = walker.walk(node, ())
    except RecursionError:
        raise InputError("YAML nesting too deep", _loc(file, node)) from None
    if data is None:
        return
    locs, doc_loc = walker.locs, _loc(file, node)
    if source != file:  # Helm output: name the template, count lines from its comment
        locs = {k: _relocate(v, source, comment_line) for k, v in locs.items()}
        doc_loc = _relocate(doc_loc, source, comment_line)
    before = len(out)
    _split(data, locs, doc_loc, source, (), out)
    out[before:] = [replace(d, origin=file) for d in out[before:]]


_SEPARATOR = re.compile(r"^---(?:[ \t]|$)")


def _chunks(text: str) -> list[tuple[int, str]]:
    """The stream cut at its ``---`` lines: (0-based first line, text) per document."""
    chunks: list[tuple[int, str]] = []
    start, current = 0, []
    for i, line in enumerate(text.splitlines(keepends=True)):
        if _SEPARATOR.match(line) and current:
            chunks.append((start, "".join(current)))
            start, current = i, []
        current.append(line)
    if current:
        chunks.append((start, "".join(current)))
    return chunks


def _shift(loc: Loc, file: str, offset: int) -> Loc:
    return replace(loc, line=loc.line + offset) if offset and loc.file == file else loc


def _shifted(doc: Document, file: str, offset: int) -> Document:
    if not offset:
        return doc
    return replace(doc, locs={k: _shift(v, file, offset) for k, v in doc.locs.items()},
                   loc=_shift(doc.loc, file, offset))


def _shift_error(e: InputError, file: str, offset: int) -> InputError:
    return InputError(e.message, _shift(e.loc, file, offset)) if e.loc is not None and offset else e


def _relocate(loc: Loc, source: str, comment_line: int) -> Loc:
    """A position in Helm-rendered output as a position in the template named by the
    ``# Source:`` comment on 0-based line ``comment_line``: the line after the comment is
    line 1 (exact for templates without leading template-only lines)."""
    return Loc(source, max(1, loc.line - comment_line - 1), loc.col)


def _source_comments(text: str) -> list[tuple[int, str]]:
    """Helm ``# Source: path`` comments as (0-based line, path)."""
    return [
        (i, m.group(1))
        for i, line in enumerate(text.splitlines())
        if line.startswith("#") and (m := _SOURCE_COMMENT.match(line))
    ]


def _check_node(loader: Any, text: str, file: str) -> bool:
    try:
        return bool(loader.check_node())
    except yaml.YAMLError as e:
        raise _yaml_error(e, text, file) from None


def _get_node(loader: Any, text: str, file: str) -> Node | None:
    try:
        return loader.get_node()
    except yaml.YAMLError as e:
        raise _yaml_error(e, text, file) from None
    except RecursionError:
        raise InputError("YAML nesting too deep", Loc(file, 1)) from None


def _yaml_error(e: yaml.YAMLError, text: str, file: str) -> InputError:
    """A PyYAML error as a located InputError."""
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or "invalid YAML"
        if e.context and e.problem:
            problem = f"{problem} ({e.context})"
        if mark is not None:
            return InputError(f"YAML syntax error: {problem}", Loc(file, mark.line + 1, mark.column + 1))
        return InputError(f"YAML syntax error: {problem}", Loc(file, 1))
    if isinstance(e, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(e.position, 0)) + 1
        return InputError(f"invalid character in YAML: {e.reason}", Loc(file, line))
    return InputError(f"YAML error: {e}", Loc(file, 1))


def _loc(file: str, node: Node) -> Loc:
    return Loc(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Walker:
    """Turns a composed node tree into plain data, filling ``locs`` on the way."""

    def __init__(self, loader: Any, file: str) -> None:
        self.loader = loader
        self.file = file
        self.locs: dict[tuple, Loc] = {}
        self._active: set[int] = set()  # ids of the nodes being walked (alias cycles)
        self._count = 0

    def walk(self, node: Node, path: tuple) -> Any:
        self._count += 1
        if self._count > _MAX_NODES:
            raise InputError(
                f"document too large (more than {_MAX_NODES} values after alias expansion)",
                _loc(self.file, node),
            )
        if id(node) in self._active:
            raise InputError("recursive YAML alias", _loc(self.file, node))
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                value: Any = self._mapping(node, path)
            elif isinstance(node, SequenceNode):
                value = [self.walk(item, path + (i,)) for i, item in enumerate(node.value)]
            else:
                value = self._scalar(node)
        finally:
            self._active.discard(id(node))
        self.locs[path] = _loc(self.file, node)
        return value

    def _scalar(self, node: Node) -> Any:
        if not node.tag.startswith(_STANDARD_TAG):
            return node.value  # a local or unknown tag: keep the text
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError) as e:
            # PyYAML's constructors fail in their own ways: !!timestamp on a non-date is an AttributeError
            problem = getattr(e, "problem", None) or ("not a valid value" if isinstance(e, AttributeError) else str(e))
            tag = node.tag.rsplit(":", 1)[-1]
            raise InputError(f"invalid !!{tag} value: {problem}", _loc(self.file, node)) from None
        finally:
            self.loader.constructed_objects.clear()
        if isinstance(value, (set, frozenset)):
            return sorted(value, key=str)
        return value

    def _mapping(self, node: MappingNode, path: tuple) -> dict[str, Any]:
        """A mapping; duplicate keys are errors, ``<<`` merges lose to explicit keys."""
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                continue
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in reversed(sources):  # earlier sources win
                if not isinstance(source, MappingNode):
                    raise InputError(
                        "merge key << expects a mapping or a list of mappings",
                        _loc(self.file, source),
                    )
                result.update(self.walk(source, path))
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self._key(key_node)
            if key in key_lines:
                raise InputError(
                    f'duplicate key "{key}" (first at line {key_lines[key]})',
                    _loc(self.file, key_node),
                )
            key_lines[key] = key_node.start_mark.line + 1
            self.locs[path + (key, KEY)] = _loc(self.file, key_node)
            result[key] = self.walk(value_node, path + (key,))
        return result

    def _key(self, node: Node) -> str:
        """A mapping key as a string, the way sigs.k8s.io/yaml converts keys to JSON."""
        if not isinstance(node, ScalarNode):
            raise InputError("mapping keys must be scalars", _loc(self.file, node))
        value = self._scalar(node)
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return "null"
        return str(value)


def _split(
    data: Any, locs: dict[tuple, Loc], loc: Loc, source: str, prefix: tuple, out: list[Document]
) -> None:
    """Append ``data`` as a Document, expanding ``kind: *List`` into its items."""
    if not isinstance(data, dict):
        raise InputError(
            f"expected a Kubernetes object (a mapping), got {_describe(data)}", loc
        )
    kind = data.get("kind")
    items = data.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for i, item in enumerate(items):
            item_prefix = prefix + ("items", i)
            item_loc = locs.get(item_prefix, loc)
            _split(item, locs, item_loc, source, item_prefix, out)
        return
    n = len(prefix)
    own = {p[n:]: l for p, l in locs.items() if p[:n] == prefix} if n else locs
    out.append(Document(data=data, locs=own, loc=loc, source_file=source))


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"string {excerpt(value)}"
    return f"{type(value).__name__} {value!r}"
