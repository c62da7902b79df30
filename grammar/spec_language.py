"""Parse the property language (``spec.lark``) into a typed, checked syntax tree.

The parser is lark LALR(1) in strict mode (no conflicts, no terminal collisions); every
node keeps its position. Errors are ``InputError`` at ``file:line:col``: "expected …
near …", with a hint for the common mistakes, then a type check (sorts of arguments,
bound variables, known predicates, required fields) with the same kind of location.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import Enum
from typing import Union

from lark import Lark, Token, Transformer, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, \
    UnexpectedToken

from zdverify.grammar.compiled import lalr
from zdverify.grammar.durations import DurationError, parse_range
from zdverify.model.source import InputError, Loc


class Sort(Enum):
    POD = "pod"
    NODE = "node"
    ZONE = "zone"


# ---------------------------------------------------------------------------------------
# Syntax tree
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Var:
    name: str
    sort: Sort


@dataclass(frozen=True)
class Pred:
    """A window or fact: ``serving(p)``, ``routes(n, p)``, ``sends(lb, n)`` …"""

    name: str
    args: tuple[Var, ...]
    loc: Loc


@dataclass(frozen=True)
class Not:
    body: "Formula"


@dataclass(frozen=True)
class And:
    parts: tuple["Formula", ...]


@dataclass(frozen=True)
class Or:
    parts: tuple["Formula", ...]


@dataclass(frozen=True)
class Quant:
    universal: bool
    var: Var
    body: "Formula"
    loc: Loc


@dataclass(frozen=True)
class Now:
    """The instant the property is evaluated at."""


@dataclass(frozen=True)
class Request:
    """The duration of the request (any value within the ``request`` bound)."""


@dataclass(frozen=True)
class Event:
    """The instant of a pod's event: ``sigkill_at(p)`` …"""

    name: str
    var: Var


@dataclass(frozen=True)
class Const:
    value: float
    time: bool  # a duration in seconds (else a plain number, for counts)


@dataclass(frozen=True)
class Count:
    var: Var
    body: "Formula"
    loc: Loc


@dataclass(frozen=True)
class Sum:
    """``terms`` added with their signs (+1 / -1)."""

    terms: tuple[tuple[int, "Term"], ...]


Term = Union[Now, Request, Event, Const, Count, Sum]


@dataclass(frozen=True)
class Compare:
    op: str  # >= <= == != > <
    left: Term
    right: Term
    numeric: bool  # a count comparison (else a time comparison)
    loc: Loc


Formula = Union[Pred, Not, And, Or, Quant, Compare]


def grounding(f: "Formula | Term", sizes: dict[Sort, int]) -> int:
    """How many instances checking ``f`` takes once every quantifier and count is expanded
    over domains of ``sizes`` (nested ones multiply): the cost a budget bounds."""
    if isinstance(f, Pred):
        return 1
    if isinstance(f, Not):
        return grounding(f.body, sizes)
    if isinstance(f, (And, Or)):
        return sum(grounding(x, sizes) for x in f.parts)
    if isinstance(f, (Quant, Count)):
        return max(1, sizes.get(f.var.sort, 1)) * grounding(f.body, sizes)
    if isinstance(f, Compare):
        return grounding(f.left, sizes) + grounding(f.right, sizes)
    if isinstance(f, Sum):
        return sum(grounding(t, sizes) for _, t in f.terms)
    return 1


class ClaimKind(Enum):
    NEVER = "never"  # the formula holds at no instant of any run
    ALWAYS = "always"  # the formula holds at every instant of every run
    COMPLETES = "completes"  # every run finishes the rollout


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    formula: Formula | None
    loc: Loc

    def violation(self) -> Formula | None:
        """The condition of a violating instant: the formula for ``never``, its negation
        for ``always``; ``None`` for completion."""
        if self.formula is None:
            return None
        return self.formula if self.kind is ClaimKind.NEVER else Not(self.formula)


@dataclass(frozen=True)
class SpecProperty:
    """One property as written: id, slug, texts, the cause it reports, the claim."""

    rule_id: str
    slug: str
    fields: tuple[tuple[str, str], ...]
    claim: Claim
    loc: Loc
    text: str  # the claim as written in the file

    def field(self, key: str, default: str = "") -> str:
        return dict(self.fields).get(key, default)


# ---------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------

PREDICATES: dict[str, tuple[tuple[Sort, ...], str]] = {
    "serving": ((Sort.POD,), "the pod's application accepts connections"),
    "ready": ((Sort.POD,), "the pod's Ready condition is true"),
    "terminating": ((Sort.POD,), "the pod is being deleted (deletionTimestamp set)"),
    "old": ((Sort.POD,), "the pod runs the old template"),
    "new": ((Sort.POD,), "the pod runs the new template"),
    "killed": ((Sort.POD,), "the pod is SIGKILLed while running (a fact of the whole run)"),
    "running": ((Sort.POD,), "the pod exists: created and its container not yet exited"),
    "on": ((Sort.POD, Sort.NODE), "the pod runs on the node"),
    "in_zone": ((Sort.NODE, Sort.ZONE), "the node is in the zone (pods: use on(p, n) and in_zone(n, z))"),
    "routes": ((Sort.NODE, Sort.POD), "the node's kube-proxy sends the entry's new requests to the pod"),
    "sends": ((Sort.NODE,), "requests for the entry arrive at the node (written sends(lb, n))"),
    "pooled_closed": ((Sort.POD,), "a pooled (keep-alive) client's connection to the pod is closed under it: "
                                   "from when the application closes it (zdverify/keep-alive; never without)"),
    "healthy": ((Sort.NODE,), "the load balancer counts the node healthy: its health checks passed (always "
                              "without checks; IP targets: some pod target is healthy) (written healthy(lb, n))"),
}
EVENTS: dict[str, str] = {
    "created_at": "the pod is created",
    "listen_at": "the application starts accepting connections",
    "ready_at": "the pod becomes Ready",
    "deleted_at": "the pod is deleted (the rollout scales it down)",
    "sigterm_at": "the kubelet sends SIGTERM (after preStop)",
    "close_at": "the application stops accepting connections",
    "sigkill_at": "the grace period ends (SIGKILL if the container still runs)",
    "exit_at": "the container exits",
}
CONSTANTS = {"now": "the instant the property is evaluated at", "request": "the duration of a request"}
FIELDS = {
    "description": "one line: what fails when the property is violated (required)",
    "remediation": "the smallest fix, in words (required)",
    "cause": "the cause reported: " + "startup, termination, no-endpoint, no-healthy-target, connection-reuse, killed-in-flight, stalled, "
                                      "capacity "
                                      "(required)",
    "explanation": "why it fails, a paragraph (default: the description)",
    "title": "the claim in words (default: derived from the description)",
    "name": "PascalCase rule name for SARIF (default: from the slug)",
}
CAUSES = ("startup", "termination", "no-endpoint", "no-healthy-target", "connection-reuse", "killed-in-flight",
          "stalled", "capacity")
_RULE_ID = re.compile(r"[A-Z][A-Z0-9]*[0-9]+$")
_SLUG = re.compile(r"[a-z][a-z0-9-]*$")

_TOKEN_TEXT = {
    "NAME": "a name", "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'", "COLON": "':'",
    "COMMA": "','", "STRING": "a quoted string", "CMP": "a comparison (>=, <, ==, …)", "ADDOP": "'+' or '-'",
    "DURATION": "a duration such as 5s", "INT": "a number", "NOT": "'not'", "AND": "'and'", "OR": "'or'",
    "NEVER": "'never'", "ALWAYS": "'always'", "COMPLETES": "'completes'", "PROPERTY": "'property'",
    "COUNT": "'count'", "EXISTS": "'exists'", "FORALL": "'forall'", "$END": "the end of the file",
}


SPEC_OPTIONS = {"propagate_positions": True, "maybe_placeholders": True}


def _parser() -> Lark:
    return lalr("spec.lark", **SPEC_OPTIONS)


def _suggest(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _hint(text: str, e: UnexpectedInput, got: str) -> str:
    expected = set(getattr(e, "expected", ()) or getattr(e, "allowed", ()) or ())
    line = text.splitlines()[e.line - 1] if 0 < e.line <= len(text.splitlines()) else ""
    before = line[:max(e.column - 1, 0)].rstrip()
    late = re.search(r"\b(not|and|or)\s+(exists|forall)$", before)
    if (got in ("exists", "forall") and before.endswith(("not", "and", "or"))) or late:
        word = late.group(2) if late else got
        return (" (hint: a quantifier that does not start the formula goes in parentheses: "
                f"not ({word} pod q: …))")
    if got in ("&&", "&", "||", "|", "!"):
        return " (hint: write and, or, not)"
    if got == "=":
        return " (hint: equality is ==)"
    if before.endswith(("exists", "forall")) or (re.search(r"(exists|forall)\s+\w+$", before) and got == ":"):
        return " (hint: a bound variable has a sort: exists node n, pod p: …)"
    if "NEVER" in expected or "ALWAYS" in expected or (got == "}" and "NAME" in expected):
        return " (hint: a property ends with never <formula>, always <formula> or always completes)"
    if got.startswith('"') or got == '"':
        return " (hint: strings are on one line; write several \"…\" \"…\" to continue)"
    return ""


def _syntax_error(text: str, path: str, e: UnexpectedInput) -> InputError:
    loc = Loc(path, e.line, e.column, show_col=True) if e.line > 0 else Loc(path, 1, 0)
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        got = "the end of the file"
        expected = set(getattr(e, "expected", ()))
        loc = Loc(path, max(len(text.splitlines()), 1), 0)
    elif isinstance(e, UnexpectedCharacters):
        got = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        if text[e.pos_in_stream:e.pos_in_stream + 2] in ("&&", "||"):
            got = text[e.pos_in_stream:e.pos_in_stream + 2]
        expected = set(e.allowed or ())
    else:
        assert isinstance(e, UnexpectedToken)
        got = str(e.token)
        expected = set(e.expected)
    words = sorted({_TOKEN_TEXT.get(x, repr(x.lower()) if x.isupper() and not x.startswith("__") else "")
                    for x in expected} - {""})
    want = ", ".join(words[:6]) + (", …" if len(words) > 6 else "")
    shown = got if got == "the end of the file" else repr(got)
    return InputError(f"expected {want or 'something else'} near {shown}{_hint(text, e, got)}", loc)


# ---------------------------------------------------------------------------------------
# From lark's tree to the typed syntax tree (with the type check)
# ---------------------------------------------------------------------------------------


class _Build(Transformer):
    def __init__(self, path: str) -> None:
        super().__init__(visit_tokens=False)
        self.path = path

    # the tree is built bottom-up; scoping needs top-down, so formulas stay lark trees
    # here and ``_Scope`` types them once the binders are known
    def start(self, items):  # type: ignore[no-untyped-def]
        return list(items)

    def string(self, items):  # type: ignore[no-untyped-def]
        return "".join(_unquote(str(t)) for t in items)


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class _Scope:
    """Types a formula tree: binds variables, checks predicates and their argument sorts."""

    def __init__(self, path: str) -> None:
        self.path = path

    def loc(self, item: Token | Tree) -> Loc:
        if isinstance(item, Token):
            return Loc(self.path, item.line or 1, item.column or 0, show_col=True)
        return Loc(self.path, item.meta.line, item.meta.column, show_col=True)

    def formula(self, t: Tree | Token, env: dict[str, Var]) -> Formula:
        if isinstance(t, Token):  # a bare name used as a formula
            raise InputError(f"{str(t)!r} is not a condition; predicates are called: "
                             f"{', '.join(PREDICATES)}", self.loc(t))
        kind = t.data
        if kind == "or_":
            parts = tuple(self.formula(c, env) for c in t.children)
            return parts[0] if len(parts) == 1 else Or(parts)
        if kind == "and_":
            parts = tuple(self.formula(c, env) for c in t.children)
            return parts[0] if len(parts) == 1 else And(parts)
        if kind == "not_":
            return Not(self.formula(t.children[0], env))
        if kind == "quantified":
            quant, *binders, body = t.children
            universal = str(quant.children[0]) == "forall"
            inner = dict(env)
            vars_: list[tuple[Var, Loc]] = []
            for b in binders:
                sort_tok, name_tok = b.children
                v = Var(str(name_tok), self.sort(sort_tok))
                if str(name_tok) == "lb":
                    raise InputError("'lb' names the load balancer; choose another variable name", self.loc(name_tok))
                inner[v.name] = v
                vars_.append((v, self.loc(b)))
            f = self.formula(body, inner)
            for v, at in reversed(vars_):
                f = Quant(universal, v, f, at)
            return f
        if kind == "call":
            return self.pred(t, env)
        if kind == "cmp":
            left, op, right = t.children
            lt, rt = self.term(left, env), self.term(right, env)
            ln, rn = _numeric(lt), _numeric(rt)
            if ln != rn:
                raise InputError("a count is compared with a number, a time with a time "
                                 "(now, durations such as 5s, request, sigkill_at(p) …)", self.loc(t))
            if not ln and (_mentions(lt, Count) or _mentions(rt, Count)):
                raise InputError("counts cannot be added to times", self.loc(t))
            return Compare(str(op), lt, rt, ln, self.loc(t))
        if kind in ("ref", "duration", "number", "count", "arith"):
            raise InputError("a term is not a condition: compare it (count(p: serving(p)) >= 2, "
                             "now > sigkill_at(p) - 5s)", self.loc(t))
        raise InputError(f"unexpected {kind}", self.loc(t))  # pragma: no cover - grammar has no other forms

    def sort(self, tok: Token) -> Sort:
        try:
            return Sort(str(tok))
        except ValueError:
            raise InputError(f"unknown sort {str(tok)!r}: a bound variable is a pod, node or zone"
                             f"{_suggest(str(tok), [s.value for s in Sort])}", self.loc(tok)) from None

    def var(self, tok: Token, env: dict[str, Var]) -> Var:
        name = str(tok)
        if name not in env:
            raise InputError(f"{name!r} is not bound; bind it with exists/forall (exists pod {name}: …)"
                             f"{_suggest(name, list(env))}", self.loc(tok))
        return env[name]

    def pred(self, t: Tree, env: dict[str, Var]) -> Pred:
        name_tok, *arg_toks = t.children
        arg_toks = [a for a in arg_toks if a is not None]
        name = str(name_tok)
        if name in EVENTS:
            raise InputError(f"{name}(…) is an instant, not a condition: compare it "
                             f"(now >= {name}({', '.join(map(str, arg_toks))}) - 5s)", self.loc(t))
        if name not in PREDICATES:
            raise InputError(f"unknown predicate {name!r}{_suggest(name, list(PREDICATES) + list(EVENTS))}; "
                             f"known: {', '.join(PREDICATES)}", self.loc(name_tok))
        sorts, _ = PREDICATES[name]
        if name in ("sends", "healthy"):
            if len(arg_toks) != 2 or str(arg_toks[0]) != "lb":
                raise InputError(f"{name} takes the load balancer and a node: {name}(lb, n)", self.loc(t))
            arg_toks = arg_toks[1:]
        if len(arg_toks) != len(sorts):
            want = ", ".join(s.value for s in sorts)
            raise InputError(f"{name} takes {len(sorts)} argument{'s' if len(sorts) > 1 else ''} ({want}), "
                             f"got {len(arg_toks)}", self.loc(t))
        args = []
        for tok, want_sort in zip(arg_toks, sorts):
            v = self.var(tok, env)
            if name == "in_zone" and want_sort is Sort.NODE and v.sort is Sort.POD:
                raise InputError("in_zone takes a node: write on(p, n) and in_zone(n, z)", self.loc(tok))
            if v.sort is not want_sort:
                raise InputError(f"{name}: {v.name!r} is a {v.sort.value}, expected a {want_sort.value}",
                                 self.loc(tok))
            args.append(v)
        return Pred(name, tuple(args), self.loc(t))

    def term(self, t: Tree | Token, env: dict[str, Var]) -> Term:
        if isinstance(t, Tree) and t.data == "arith":
            left, op, right = t.children
            lt, rt = self.term(left, env), self.term(right, env)
            if _numeric(lt) != _numeric(rt):
                raise InputError("a count is added to a number, a time to a duration", self.loc(t))
            sign = 1 if str(op) == "+" else -1
            terms = (lt.terms if isinstance(lt, Sum) else ((1, lt),))
            rterms = (rt.terms if isinstance(rt, Sum) else ((1, rt),))
            return Sum(terms + tuple((sign * s, x) for s, x in rterms))
        if isinstance(t, Tree) and t.data == "ref":
            name = str(t.children[0])
            if name == "now":
                return Now()
            if name == "request":
                return Request()
            raise InputError(f"unknown constant {name!r}{_suggest(name, list(CONSTANTS))}; known: now, request"
                             + ("; variables are arguments of predicates" if name in env else ""), self.loc(t))
        if isinstance(t, Tree) and t.data == "duration":
            tok = t.children[0]
            try:
                lo, _ = parse_range(str(tok))
            except DurationError as e:
                raise InputError(str(e), self.loc(tok)) from None
            return Const(lo, True)
        if isinstance(t, Tree) and t.data == "number":
            digits = str(t.children[0])
            if len(digits) > 9:  # counts of pods and nodes: a bigger number is a typo (and floats lose it)
                raise InputError(f"number {digits[:12]}{'…' if len(digits) > 12 else ''}: at most 999,999,999",
                                 self.loc(t.children[0]))
            return Const(float(int(digits)), False)
        if isinstance(t, Tree) and t.data == "count":
            sort_tok, name_tok, body = t.children
            sort = self.sort(sort_tok) if sort_tok is not None else Sort.POD
            v = Var(str(name_tok), sort)
            return Count(v, self.formula(body, {**env, v.name: v}), self.loc(t))
        if isinstance(t, Tree) and t.data == "call":
            name_tok, *arg_toks = t.children
            arg_toks = [a for a in arg_toks if a is not None]
            name = str(name_tok)
            if name in PREDICATES:
                raise InputError(f"{name}(…) is a condition, not a time: use it with and/or/not", self.loc(t))
            if name not in EVENTS:
                raise InputError(f"unknown instant {name!r}{_suggest(name, list(EVENTS))}; known: "
                                 f"{', '.join(EVENTS)}", self.loc(name_tok))
            if len(arg_toks) != 1:
                raise InputError(f"{name} takes one pod", self.loc(t))
            v = self.var(arg_toks[0], env)
            if v.sort is not Sort.POD:
                raise InputError(f"{name}: {v.name!r} is a {v.sort.value}, expected a pod", self.loc(arg_toks[0]))
            return Event(name, v)
        raise InputError("a condition is not a term: count(p: …) or an instant is expected", self.loc(t))


def _numeric(t: Term) -> bool:
    if isinstance(t, Sum):
        return _numeric(t.terms[0][1])
    if isinstance(t, Const):
        return not t.time
    return isinstance(t, Count)


def _mentions(t: Term, kind: type) -> bool:
    if isinstance(t, Sum):
        return any(_mentions(x, kind) for _, x in t.terms)
    return isinstance(t, kind)


MAX_NESTING = 100  # parentheses deep; deeper claims are refused before parsing (no recursion limit is met)


def _too_deep(text: str, path: str) -> InputError | None:
    depth = 0
    for n, line in enumerate(text.splitlines(), 1):
        for col, ch in enumerate(line, 1):
            depth += (ch == "(") - (ch == ")")
            if depth > MAX_NESTING:
                return InputError(f"parentheses nested more than {MAX_NESTING} deep: split the claim",
                                  Loc(path, n, col, show_col=True))
    return None


def parse_specs(text: str, path: str) -> list[SpecProperty]:
    """Parse a spec file; ``InputError`` at ``path:line:col`` on any mistake."""
    deep = _too_deep(text, path)
    if deep is not None:
        raise deep
    try:
        return _parse_specs(text, path)
    except RecursionError:  # a chain of thousands of `not`s, say
        raise InputError("the claim is nested too deeply to read: split it", Loc(path, 1)) from None


def _parse_specs(text: str, path: str) -> list[SpecProperty]:
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(text, path, e) from None
    items = _Build(path).transform(tree)
    scope = _Scope(path)
    lines = text.splitlines()
    out: list[SpecProperty] = []
    for prop in items:
        rule_tok, slug_tok, *rest = prop.children
        *field_trees, claim_tree = rest
        if not _RULE_ID.match(str(rule_tok)):
            raise InputError(f"property id {str(rule_tok)!r}: expected capitals then digits, such as ZDV101 "
                             "or TEAM1", scope.loc(rule_tok))
        if not _SLUG.match(str(slug_tok)):
            raise InputError(f"property name {str(slug_tok)!r}: expected lower-case words joined by '-', "
                             "such as zone-capacity", scope.loc(slug_tok))
        fields: dict[str, str] = {}
        for f in field_trees:
            key_tok, value = f.children
            key = str(key_tok)
            if key not in FIELDS:
                raise InputError(f"unknown field {key!r}{_suggest(key, list(FIELDS))}; fields: "
                                 f"{', '.join(FIELDS)}", scope.loc(key_tok))
            if key in fields:
                raise InputError(f"field {key!r} is given twice", scope.loc(key_tok))
            text_value = str(value)
            if key == "cause" and text_value not in CAUSES:
                raise InputError(f"unknown cause {text_value!r}{_suggest(text_value, list(CAUSES))}; causes: "
                                 f"{', '.join(CAUSES)}", scope.loc(f))
            if key not in ("cause", "name") and isinstance(value, Token):
                raise InputError(f"{key}: expected a quoted string", scope.loc(value))
            if key == "name" and not re.match(r"[A-Z][A-Za-z0-9]*$", text_value):
                raise InputError(f"name {text_value!r}: expected a PascalCase word such as ZoneCapacity",
                                 scope.loc(f))
            fields[key] = text_value
        missing = [k for k in ("description", "remediation", "cause") if k not in fields]
        if missing:
            raise InputError(f"property {str(rule_tok)}: missing field{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(missing)}", scope.loc(rule_tok))
        claim_loc = scope.loc(claim_tree)
        if claim_tree.data == "completes":
            claim = Claim(ClaimKind.COMPLETES, None, claim_loc)
        else:
            formula = scope.formula(claim_tree.children[0], {})
            claim = Claim(ClaimKind(claim_tree.data), formula, claim_loc)
        end = claim_tree.meta.end_line
        written = " ".join(x.strip() for x in lines[claim_tree.meta.line - 1:end])
        written = written[written.find(claim_tree.data if claim_tree.data != "completes" else "always"):]
        written = written.rsplit("}", 1)[0].strip() if written.rstrip().endswith("}") else written
        out.append(SpecProperty(str(rule_tok), str(slug_tok), tuple(fields.items()), claim,
                                scope.loc(prop), written))
    return out
