"""``seqgraph port``: turn a Python 2 Theano script into Python 3 that runs on seqgraph.

The Python 2 to 3 part is done by fissix (the maintained fork of lib2to3):
print statements, ``xrange``, ``cPickle``, ``dict.iteritems`` and the other
dictionary methods, ``except X, e``, ``raw_input`` ...  seqgraph then

* points the Theano imports at :mod:`seqgraph.theano`;
* turns ``/`` into ``//`` where both operands are visibly integers (integer
  literals, ``len(...)``, ``int(...)``, ``.shape[...]``, ``//`` results), as
  Python 2 computed them, and where the result is used as only an integer
  can be: an argument of ``range``, the count of a list, tuple or string
  repeated with ``*`` (``win / 2 * [-1]`` in the RNNSLU tutorial), a slice
  bound (Python 3 raises a TypeError for a float in each of these places);
* leaves alone a ``/`` with an operand built by the Theano tensor module
  (``x / T.sqrt(...)``): Theano refused ``/`` between integer tensors, so a
  script that ran divided floats, the same in both Pythons;
* reads pickles as Python 2 wrote them: ``pickle.load(f)`` and
  ``pickle.loads(s)`` get ``encoding="latin1"`` (Python 3's default, ASCII,
  fails on the NumPy arrays of a Python 2 pickle such as ``mnist.pkl.gz``;
  the option changes nothing for a pickle written by Python 3);
* replaces the NumPy names that NumPy has removed since (``numpy.float``,
  ``numpy.int`` and the other builtin aliases, ``numpy.float_``, ``NaN``,
  ``asscalar``, ``cast`` ...) and Python 2's ``file(...)`` builtin (with ``open``);
* replaces ``time.clock()``, gone since Python 3.8, with
  ``time.perf_counter()`` (the tutorials time their epochs with it);
* reports, with line numbers, what it cannot convert: Theano APIs that
  seqgraph does not provide, and every other ``/`` whose operands may be
  integers (true division in Python 3, floor division in Python 2).

Nothing is dropped silently: each change and each doubt is listed in the
:class:`PortReport`.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import re
from dataclasses import dataclass, field

from seqgraph.theano._removed import REMOVED

__all__ = ["PortReport", "port_source"]


@dataclass
class PortReport:
    """What :func:`port_source` did: the new source, the changes, the problems."""

    source: str
    changes: list = field(default_factory=list)  # (rule, line, before, after)
    problems: list = field(default_factory=list)  # (line, message)

    def summary(self) -> str:
        lines = []
        for rule, line, before, after in self.changes:
            lines.append(f"line {line}: [{rule}] {before.strip()}  ->  {after.strip()}")
        for line, message in self.problems:
            lines.append(f"line {line}: NOT CONVERTED: {message}")
        if not lines:
            lines.append("nothing to change")
        return "\n".join(lines)


_FIXER_RULES = {
    "print": "print statement",
    "xrange": "xrange",
    "imports": "renamed module (cPickle, ...)",
    "dict": "dict method",
    "has_key": "has_key",
    "except": "except syntax",
    "raise": "raise syntax",
    "unicode": "unicode",
    "long": "long",
    "raw_input": "raw_input",
    "next": "next()",
    "ne": "<>",
    "numliterals": "number literal",
}


def _refactoring_tool(fixers):
    """fissix's ``RefactoringTool`` for ``fixers``, its print fixer keeping ``print(x)``.

    fissix, as lib2to3, turns the Python 2 statement ``print ("%d" % n)``
    into ``print(("%d" % n))``: the statement's one operand, an expression in
    parentheses, becomes the call's argument with its parentheses.  Where
    that operand is not a tuple, ``print (expr)`` already reads in Python 3
    as the call that prints the same text, so the fixer leaves it as it is;
    a tuple (``print (a, b)``, which Python 2 printed as a tuple) is still
    wrapped.
    """
    from fissix import pygram
    from fissix.fixes.fix_print import FixPrint
    from fissix.refactor import RefactoringTool

    syms = pygram.python_symbols

    def _one_expression_in_parentheses(node):
        if node.type != syms.atom or len(node.children) != 3:
            return False
        if node.children[0].value != "(" or node.children[2].value != ")":
            return False
        inner = node.children[1]
        if inner.type == syms.yield_expr:
            return False
        return not (
            inner.type == syms.testlist_gexp
            and any(child.type == pygram.token.COMMA for child in inner.children)
        )

    class KeepCallPrint(FixPrint):
        def transform(self, node, results):
            args = node.children[1:]
            if len(args) == 1 and _one_expression_in_parentheses(args[0]):
                return None
            return super().transform(node, results)

    class Tool(RefactoringTool):
        def get_fixers(self):
            def swap(found):
                return [
                    KeepCallPrint(self.options, self.fixer_log) if type(f) is FixPrint else f
                    for f in found
                ]

            pre_order, post_order = super().get_fixers()
            return swap(pre_order), swap(post_order)

    return Tool(fixers)


def _py2to3(source, name):
    from fissix.refactor import get_fixers_from_package

    fixers = get_fixers_from_package("fissix.fixes")
    tool = _refactoring_tool(fixers)
    text = source if source.endswith("\n") else source + "\n"
    new = str(tool.refactor_string(text, name))
    changes = []
    # Name each changed line by the fixer that changes it on its own.
    by_line = {}
    for fixer in fixers:
        short = fixer.rsplit(".fix_", 1)[1]
        single = str(_refactoring_tool([fixer]).refactor_string(text, name))
        if single == text:
            continue
        for tag, i1, i2, _, _ in difflib.SequenceMatcher(
            None, text.splitlines(), single.splitlines()
        ).get_opcodes():
            if tag != "equal":
                for line in range(i1 + 1, i2 + 1):
                    by_line.setdefault(line, []).append(_FIXER_RULES.get(short, short))
    old_lines, new_lines = text.splitlines(), new.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old_lines, new_lines).get_opcodes():
        if tag == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            before = old_lines[i1 + k] if i1 + k < i2 else ""
            after = new_lines[j1 + k] if j1 + k < j2 else ""
            line = i1 + k + 1
            rule = ", ".join(dict.fromkeys(by_line.get(line, ["python 3"])))
            changes.append((rule, line, before, after))
    return new, changes


_IMPORT_LINE = re.compile(
    r"^(\s*)import\s+([\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*)\s*(#.*)?$"
)
_IMPORT_ITEM = re.compile(r"^([\w.]+)(?:\s+as\s+(\w+))?$")
_FROM_THEANO = re.compile(r"^(\s*)from theano(\.[\w.]+)? import ")


def _real_module(name):
    """The module to import for Theano's module ``name`` (``theano.tensor.extra_ops`` ...).

    ``seqgraph.theano``'s own module where it has one; otherwise the module
    that ``import theano.X`` gives under ``seqgraph run`` (PyTensor's
    ``pytensor.tensor.extra_ops``, say), so that the converted script imports
    it without the ``theano`` alias.  A name neither knows is left as
    ``seqgraph.theano.X``, whose import error names it.
    """
    real = "seqgraph." + name
    try:
        if importlib.util.find_spec(real) is not None:
            return real
    except ModuleNotFoundError:
        return real
    from seqgraph.theano import _finder

    try:
        _finder.find_spec(name)
    except ImportError:
        return real
    module = _finder._aliases.get(name)
    return real if module is None else module.__name__


def _theano_import_item(item):
    """One name of an ``import`` statement, pointed at seqgraph.theano; ``(text, binds_theano)``.

    ``import theano.tensor`` binds the name ``theano``: the new module path
    binds ``seqgraph``, so the caller adds ``import seqgraph.theano as theano``.
    """
    name, alias = _IMPORT_ITEM.match(item).groups()
    if name != "theano" and not name.startswith("theano."):
        return item, False
    if name == "theano":
        return f"seqgraph.theano as {alias or 'theano'}", False
    real = _real_module(name)
    if alias:
        return f"{real} as {alias}", False
    return real, True


def _from_theano(match):
    indent, module = match.group(1), match.group(2)
    return (
        f"{indent}from {_real_module('theano' + module) if module else 'seqgraph.theano'} import "
    )


def _theano_imports(source):
    out, changes, problems = [], [], []
    lines = source.splitlines()
    needs_theano = False
    for number, line in enumerate(lines, 1):
        new = line
        match = _IMPORT_LINE.match(line)
        if match:
            indent, names, comment = match.groups()
            old_items = [item.strip() for item in names.split(",")]
            new_items = []
            for item in old_items:
                text, binds = _theano_import_item(item)
                new_items.append(text)
                needs_theano = needs_theano or binds
            if new_items != old_items:  # otherwise the line stays as written
                new = f"{indent}import {', '.join(new_items)}" + (f"  {comment}" if comment else "")
        else:
            new = _FROM_THEANO.sub(_from_theano, line)
        if new != line:
            changes.append(("theano import", number, line, new))
        out.append(new)
    if needs_theano and "import seqgraph.theano as theano" not in (line.strip() for line in out):
        out.insert(_first_code_line(out), "import seqgraph.theano as theano")
        changes.append(("theano import", 1, "", "import seqgraph.theano as theano"))
    return "\n".join(out) + "\n", changes, problems


def _first_code_line(lines):
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not stripped.startswith(("'''", '"""')):
            return i
    return 0


def _removed_apis(source):
    """Lines that use a Theano API seqgraph does not provide."""
    patterns = []
    for full, hint in REMOVED.items():
        tail = ".".join(full.split(".")[-2:])  # e.g. nnet.conv2d, sandbox.cuda
        advice = f"use {hint}" if hint else "it has no replacement in seqgraph"
        patterns.append(
            (re.compile(rf"\b{re.escape(tail)}\b"), f"{full} is not provided; {advice}")
        )
    problems = []
    for number, line in enumerate(source.splitlines(), 1):
        code = line.split("#", 1)[0]
        for pattern, message in patterns:
            if pattern.search(code):
                problems.append((number, message))
                break
    # `from theano.x import y` names y apart from its module.
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return problems
    flagged = {number for number, _ in problems}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.lineno in flagged:
            continue
        module = (node.module or "").removeprefix("seqgraph.")
        if not module.startswith("theano"):
            continue
        for alias in node.names:
            full = f"{module}.{alias.name}"
            if full in REMOVED or module in REMOVED:
                hint = REMOVED.get(full, REMOVED.get(module))
                advice = f"use {hint}" if hint else "it has no replacement in seqgraph"
                problems.append((node.lineno, f"{full} is not provided; {advice}"))
    return problems


def _is_int_expr(node, names=frozenset()) -> bool:
    """Whether ``node`` is visibly an integer; ``names`` are variables known to hold one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    if isinstance(node, ast.Name):
        return node.id in names
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in ("len", "int")
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
        return node.value.attr == "shape"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.FloorDiv, ast.Mod)):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
        return _is_int_expr(node.left, names) and _is_int_expr(node.right, names)
    return False


_SCOPES = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _scope_nodes(scope):
    """The nodes of ``scope`` outside the functions, lambdas and classes nested in it."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _SCOPES):
            # Its name (and its decorators and defaults) belong to this scope.
            if not isinstance(node, ast.Lambda):
                stack.extend(node.decorator_list)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                stack.extend(node.args.defaults + [d for d in node.args.kw_defaults if d])
            continue
        stack.extend(ast.iter_child_nodes(node))


def _range_loop_names(scope) -> frozenset[str]:
    """Names that ``scope`` binds only as the variable of ``for name in range(...)`` loops.

    Such a name holds an integer wherever the scope reads it (comprehensions
    count as part of the scope).  A name the scope also binds in any other
    way (an assignment, a parameter, another loop, ``global`` ...) is left out.
    """

    def over_range(loop):
        it = loop.iter
        return (
            isinstance(loop.target, ast.Name)
            and isinstance(it, ast.Call)
            and isinstance(it.func, ast.Name)
            and it.func.id in ("range", "xrange")
        )

    nodes = list(_scope_nodes(scope))
    loops = {
        n.target for n in nodes if isinstance(n, (ast.For, ast.comprehension)) and over_range(n)
    }
    return frozenset(target.id for target in loops) - _bound_otherwise(scope, nodes, loops)


def _bound_otherwise(scope, nodes, kept) -> set[str]:
    """Names ``scope`` binds other than by the ``kept`` name nodes.

    Its parameters, other assignment targets, ``global`` / ``nonlocal``
    names, the functions and classes it defines, and the names it imports.
    """
    others = set()
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = scope.args
        others.update(
            a.arg
            for a in arguments.posonlyargs
            + arguments.args
            + arguments.kwonlyargs
            + [arguments.vararg, arguments.kwarg]
            if a is not None
        )
    for node in nodes:
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) and node not in kept:
            others.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            others.update(node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            others.add(node.name)
        elif isinstance(node, ast.alias):
            others.add((node.asname or node.name).split(".")[0])
    return others


def _is_float_expr(node) -> bool:
    """Whether ``node`` is visibly a float: a float literal, ``float(...)``, arithmetic with one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, float)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id == "float"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        return _is_float_expr(node.left) or _is_float_expr(node.right)
    return False


_SEQUENCE_DISPLAYS = (ast.List, ast.Tuple, ast.ListComp)


def _used_as_int(node, parents) -> bool:
    """Whether the value of ``node`` goes where Python accepts only an integer."""
    parent = parents.get(node)
    if isinstance(parent, ast.Call) and node in parent.args:
        func = parent.func
        return isinstance(func, ast.Name) and func.id in ("range", "xrange")
    if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Mult):
        other = parent.right if node is parent.left else parent.left
        return isinstance(other, _SEQUENCE_DISPLAYS) or (
            isinstance(other, ast.Constant) and isinstance(other.value, str)
        )
    if isinstance(parent, ast.Slice):
        return node in (parent.lower, parent.upper, parent.step)
    return False


def _tensor_modules(tree) -> set[str]:
    """Names the script binds to the Theano tensor module (``T``, ``tensor`` ...)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name.endswith("theano.tensor"):
                    names.add(alias.asname)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").endswith("theano"):
            for alias in node.names:
                if alias.name == "tensor":
                    names.add(alias.asname or "tensor")
    return names


def _is_tensor_expr(node, modules, names=frozenset()) -> bool:
    """Whether ``node`` is built by the tensor module: ``T.f(...)``, ``T.f(...).g(...)`` ...

    Arithmetic with such an operand is one too (``c * T.log(h).sum()``), and
    so is a use of ``names``, variables known to hold tensors.
    """
    while isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    if isinstance(node, ast.BinOp):
        return _is_tensor_expr(node.left, modules, names) or _is_tensor_expr(
            node.right, modules, names
        )
    if isinstance(node, ast.UnaryOp):
        return _is_tensor_expr(node.operand, modules, names)
    return isinstance(node, ast.Name) and (node.id in modules or node.id in names)


def _tensor_names(scope, modules) -> frozenset[str]:
    """Names that ``scope`` binds only by assigning tensor expressions to them.

    ``e = T.exp(x - x.max()) * m`` makes ``e`` a tensor, and so ``e / e.sum()``
    a tensor division. A name bound in any other way too (a parameter, a loop
    variable, an unpacking, ``global`` ...) is left out; ``e += ...`` counts as
    ``e = e + ...``.
    """
    nodes = list(_scope_nodes(scope))
    values, targets = {}, set()
    for node in nodes:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            for target in node.targets:
                values.setdefault(target.id, []).append(node.value)
                targets.add(target)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
            read = ast.Name(id=name, ctx=ast.Load())
            values.setdefault(name, []).append(ast.BinOp(left=read, op=node.op, right=node.value))
            targets.add(node.target)
    others = _bound_otherwise(scope, nodes, targets)
    # The largest set consistent with itself: a name stays while every value
    # assigned to it is a tensor expression given the names that stay.
    names = set(values) - others - set(modules)
    changed = True
    while changed:
        changed = False
        for name in sorted(names):
            if not all(_is_tensor_expr(value, modules, names) for value in values[name]):
                names.discard(name)
                changed = True
    return frozenset(names)


def _division(source):
    """Rewrite ``a / b`` with integer operands to ``a // b``; report unknown ones."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return source, [], [(exc.lineno or 0, f"the converted code does not parse: {exc.msg}")]
    edits, changes, problems = [], [], []
    lines = source.splitlines()
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    modules = _tensor_modules(tree)
    scope_ints, scope_tensors = {}, {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)):
            continue
        scope = parents.get(node)
        while not isinstance(scope, _SCOPES):
            scope = parents.get(scope)
        if scope not in scope_ints:
            scope_ints[scope] = _range_loop_names(scope)
            scope_tensors[scope] = _tensor_names(scope, modules) if modules else frozenset()
        ints, tensors = scope_ints[scope], scope_tensors[scope]
        left, right = node.left, node.right
        if _is_tensor_expr(left, modules, tensors) or _is_tensor_expr(right, modules, tensors):
            continue
        if (_is_int_expr(left, ints) and _is_int_expr(right, ints)) or _used_as_int(node, parents):
            # Locate the operator between the operands on the source line.
            if left.end_lineno == right.lineno == node.lineno:
                line = lines[node.lineno - 1]
                segment = line[left.end_col_offset : right.col_offset]
                if segment.count("/") == 1:
                    edits.append((node.lineno, left.end_col_offset, right.col_offset, segment))
                    continue
            problems.append(
                (node.lineno, "integer division across lines; write // by hand if intended")
            )
        elif not (_is_float_expr(left) or _is_float_expr(right)):
            problems.append(
                (
                    node.lineno,
                    f"'{ast.unparse(node)}' divides with '/': Python 2 floored it when both "
                    "operands were integers; use // if they can be",
                )
            )
    for lineno, start, end, segment in sorted(edits, key=lambda e: (e[0], -e[1])):
        line = lines[lineno - 1]
        new = line[:start] + segment.replace("/", "//") + line[end:]
        changes.append(("integer division", lineno, line, new))
        lines[lineno - 1] = new
    return "\n".join(lines) + "\n", changes, problems


def _edit_lines(source, edits):
    """Apply ``(line, start, end, text)`` edits (byte columns, one line each); return lines changed.

    The edits must not overlap; on each line they are applied right to left.
    """
    lines = source.splitlines()
    before = {}
    for number, start, end, text in sorted(edits, key=lambda e: (e[0], e[1], e[2]), reverse=True):
        line = lines[number - 1].encode()
        before.setdefault(number, lines[number - 1])
        lines[number - 1] = (line[:start] + text.encode() + line[end:]).decode()
    return "\n".join(lines) + "\n", before


def _time_clock(source):
    """Replace ``time.clock`` (removed in Python 3.8) with ``time.perf_counter``.

    Covers ``import time`` (under any alias), whose ``clock`` attribute is
    renamed, and ``from time import clock``, which imports ``perf_counter``
    under the name ``clock`` so that the script's calls stay as they are.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, []
    modules = set()
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(
                alias.asname or alias.name for alias in node.names if alias.name == "time"
            )
        elif isinstance(node, ast.ImportFrom) and node.module == "time" and not node.level:
            for alias in node.names:
                if alias.name == "clock" and alias.lineno == alias.end_lineno:
                    new = f"perf_counter as {alias.asname or 'clock'}"
                    edits.append((alias.lineno, alias.col_offset, alias.end_col_offset, new))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "clock"
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.lineno == node.end_lineno
        ):
            start = node.end_col_offset - len("clock")
            edits.append((node.lineno, start, node.end_col_offset, "perf_counter"))
    new_source, before = _edit_lines(source, edits)
    lines = new_source.splitlines()
    return new_source, [("time.clock", n, old, lines[n - 1]) for n, old in before.items()]


# Modules whose load/loads read pickles (cPickle is already renamed by fissix;
# six.moves.cPickle, which the tutorials' later versions import, is pickle).
_PICKLE_MODULES = ("pickle", "six.moves.cPickle")


def _pickle_encoding(source):
    """Give ``pickle.load``/``loads`` calls ``encoding="latin1"`` to read Python 2 pickles.

    The files that ``load`` and ``dump`` open in their call are opened in
    binary mode (:func:`_binary_mode`).

    The calls are those of a module imported as ``pickle`` or
    ``six.moves.cPickle`` (under any alias; fissix has already renamed
    ``cPickle``) and of ``load``/``loads`` imported from it.  A call that
    already names an encoding is left alone; one whose closing parenthesis is
    not on its first line is reported instead.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, [], []
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(
                alias.asname or alias.name for alias in node.names if alias.name in _PICKLE_MODULES
            )
        elif isinstance(node, ast.ImportFrom) and not node.level:
            if node.module == "six.moves":  # from six.moves import cPickle as pickle
                modules.update(
                    alias.asname or alias.name for alias in node.names if alias.name == "cPickle"
                )
    calls = []
    edits, problems = [], []
    imported = _pickle_functions(tree)  # name in the script -> pickle's name
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            name = func.attr if func.value.id in modules else None
        else:
            name = imported.get(getattr(func, "id", None))
        if name == "load":
            edits.extend(_binary_mode(node, 0, "rb", ("r", "rt"), add=True))
        elif name == "dump":
            edits.extend(_binary_mode(node, 1, "wb", ("w", "wt"), add=False))
        if name in ("load", "loads") and not any(k.arg == "encoding" for k in node.keywords):
            calls.append(node)
    lines = source.splitlines()
    for node in calls:
        if node.lineno != node.end_lineno:
            problems.append(
                (
                    node.lineno,
                    "a pickle read over several lines: add encoding='latin1' if it was "
                    "written by Python 2",
                )
            )
            continue
        line = lines[node.lineno - 1].encode()
        inner = line[: node.end_col_offset - 1].rstrip()  # up to the closing parenthesis
        separator = "" if inner.endswith(b"(") else " " if inner.endswith(b",") else ", "
        text = separator + 'encoding="latin1"'
        edits.append((node.lineno, len(inner), node.end_col_offset - 1, text))
    new_source, before = _edit_lines(source, edits)
    lines = new_source.splitlines()
    changes = [("Python 2 pickle", n, old, lines[n - 1]) for n, old in before.items()]
    return new_source, changes, problems


def _pickle_functions(tree):
    """``{name in the script: "load" | "loads" | "dump"}`` for pickle's functions imported by name."""
    return {
        alias.asname or alias.name: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and not node.level and node.module in _PICKLE_MODULES
        for alias in node.names
        if alias.name in ("load", "loads", "dump")
    }


def _binary_mode(call, position, mode, text_modes, add):
    """Edits opening the file of ``pickle.load(open(path))`` / ``dump(x, open(path, "w"))`` in binary.

    Python 2 read and wrote pickles through files opened in text mode; Python
    3's pickle needs bytes.  A text mode given as a string (one of
    ``text_modes``) becomes ``mode``; with ``add``, ``open(path)`` (read
    mode) gets ``mode`` too.
    """
    if len(call.args) <= position:
        return []
    opened = call.args[position]
    if not (
        isinstance(opened, ast.Call)
        and isinstance(opened.func, ast.Name)
        and opened.func.id == "open"
        and opened.args
        and not opened.keywords
        and opened.lineno == opened.end_lineno
    ):
        return []
    if len(opened.args) == 1:
        end = opened.args[0].end_col_offset
        return [(opened.lineno, end, end, f', "{mode}"')] if add else []
    given = opened.args[1]
    if isinstance(given, ast.Constant) and given.value in text_modes:
        return [(given.lineno, given.col_offset, given.end_col_offset, f'"{mode}"')]
    return []


# NumPy names that old scripts use and NumPy has since removed: the builtin
# aliases (gone in NumPy 1.24) and the aliases NumPy 2.0 removed.  A value
# starting with "." is an attribute of the same module.
_NUMPY_REMOVED = {
    "int": "int",
    "float": "float",
    "complex": "complex",
    "object": "object",
    "str": "str",
    "unicode": "str",
    "float_": ".float64",
    "complex_": ".complex128",
    "int0": ".intp",
    "uint0": ".uintp",
    "bool8": ".bool_",
    "NaN": ".nan",
    "NAN": ".nan",
    "Inf": ".inf",
    "Infinity": ".inf",
    "PINF": ".inf",
    "infty": ".inf",
    "round_": ".round",
    "product": ".prod",
    "cumproduct": ".cumprod",
    "alltrue": ".all",
    "sometrue": ".any",
}


def _numpy_removed(source):
    """Replace NumPy names removed since the scripts were written (``numpy.float``, ``asscalar`` ...).

    Only attributes of a name bound by ``import numpy`` (under any alias) are
    changed, and not where the script assigns them.  ``numpy.asscalar(a)``
    becomes ``numpy.asarray(a).item()``, ``numpy.cast[dtype](a)``
    ``numpy.asarray(a, dtype=dtype)`` (``a`` may span lines).  A removed name
    inside such a call (``numpy.cast[numpy.int](a)``) is replaced too: the
    rewrite runs again on its own result until nothing changes.
    """
    before = {}
    for _ in range(4):
        source, changed = _numpy_removed_once(source)
        if not changed:
            break
        for number, old in changed.items():
            before.setdefault(number, old)
    lines = source.splitlines()
    return source, [
        ("NumPy name removed", n, old, lines[n - 1]) for n, old in sorted(before.items())
    ]


def _numpy_removed_once(source):
    """One pass of :func:`_numpy_removed`: the new source and ``{line: text before}``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, {}
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(
                alias.asname or alias.name for alias in node.names if alias.name == "numpy"
            )
    lines = source.splitlines()
    edits, heads = [], []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and isinstance(node.ctx, ast.Load)
            and node.lineno == node.end_lineno
        ):
            if node.attr in _NUMPY_REMOVED:
                new = _NUMPY_REMOVED[node.attr]
                new = node.value.id + new if new.startswith(".") else new
                edits.append((node.lineno, node.col_offset, node.end_col_offset, new))
            elif node.attr == "asscalar":
                call = next(
                    (
                        p
                        for p in ast.walk(tree)
                        if isinstance(p, ast.Call) and p.func is node and p.end_lineno == p.lineno
                    ),
                    None,
                )
                if call is not None:
                    new = f"{node.value.id}.asarray"
                    edits.append((node.lineno, node.col_offset, node.end_col_offset, new))
                    edits.append((call.lineno, call.end_col_offset, call.end_col_offset, ".item()"))
            elif node.attr == "cast":
                # numpy.cast[dtype](a), Theano's idiom for numpy.cast[floatX](...):
                # "numpy.cast[dtype](" becomes "numpy.asarray(" and ", dtype=dtype"
                # follows the argument, wherever it ends.
                call = next(
                    (
                        p
                        for p in ast.walk(tree)
                        if isinstance(p, ast.Call)
                        and isinstance(p.func, ast.Subscript)
                        and p.func.value is node
                        and p.func.end_lineno == p.lineno
                        and len(p.args) == 1
                        and not p.keywords
                    ),
                    None,
                )
                if call is not None:
                    dtype = ast.get_source_segment(source, call.func.slice)
                    line = lines[call.lineno - 1].encode()
                    paren = line.index(b"(", call.func.end_col_offset)
                    head = (call.lineno, node.col_offset, paren + 1)
                    heads.append(head)
                    edits.append((*head, f"{node.value.id}.asarray("))
                    arg = call.args[0]
                    end = (arg.end_lineno, arg.end_col_offset, arg.end_col_offset)
                    edits.append((*end, f", dtype={dtype}"))
    # A removed name inside a cast's head (its dtype) is replaced in the next
    # pass, in the copy of the dtype that follows the argument.
    edits = [
        e
        for e in edits
        if (e[0], e[1], e[2]) in heads
        or not any(e[0] == h[0] and h[1] <= e[1] and e[2] <= h[2] for h in heads)
    ]
    new_source, before = _edit_lines(source, edits)
    return new_source, before


def _file_builtin(source):
    """Replace calls of Python 2's ``file(...)`` builtin with ``open(...)``.

    Left alone where the script binds the name ``file`` anywhere (a variable,
    a parameter, a function or an import of that name).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, []
    calls = []
    for node in ast.walk(tree):
        bound = (
            (
                isinstance(node, ast.Name)
                and node.id == "file"
                and not isinstance(node.ctx, ast.Load)
            )
            or (isinstance(node, ast.arg) and node.arg == "file")
            or (isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == "file")
            or (isinstance(node, ast.alias) and (node.asname or node.name) == "file")
        )
        if bound:
            return source, []
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "file"
        ):
            calls.append(node.func)
    edits = [(f.lineno, f.col_offset, f.end_col_offset, "open") for f in calls]
    new_source, before = _edit_lines(source, edits)
    lines = new_source.splitlines()
    changes = [("file() builtin", n, old, lines[n - 1]) for n, old in before.items()]
    return new_source, changes


def port_source(source, name="<script>") -> PortReport:
    """Convert Python 2 Theano ``source`` to Python 3 on :mod:`seqgraph.theano`."""
    py3, changes = _py2to3(source, name)
    py3, import_changes, _ = _theano_imports(py3)
    py3, div_changes, div_problems = _division(py3)
    py3, clock_changes = _time_clock(py3)
    py3, pickle_changes, pickle_problems = _pickle_encoding(py3)
    py3, numpy_changes = _numpy_removed(py3)
    py3, file_changes = _file_builtin(py3)
    problems = _removed_apis(py3) + div_problems + pickle_problems
    all_changes = sorted(
        changes
        + import_changes
        + div_changes
        + clock_changes
        + pickle_changes
        + numpy_changes
        + file_changes,
        key=lambda c: c[1],
    )
    report = PortReport(py3, all_changes, sorted(problems))
    return report
