"""The shape of the code: imports go one way, functions stay short, and only a kind's own
modules name it. Read from the source with ast, so these hold for every module."""

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "sparsernn"
MAX_FUNCTION_LINES = 60


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path, *, top_level: bool) -> set[str]:
    """The sparsernn modules ``path`` imports at module level (or, with ``top_level=False``,
    inside functions), each as the most specific module name that exists."""
    module, tree = _module(path), ast.parse(path.read_text())
    known = {_module(p) for p in PACKAGE.rglob("*.py")}
    functions = [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)]
    nodes = tree.body if top_level else [n for f in functions for n in ast.walk(f)]
    found = set()
    for node in nodes:
        if isinstance(node, ast.If) and top_level:  # e.g. TYPE_CHECKING blocks are not imports at run time
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path.name == "__init__.py", node)
            names = [f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target for alias in node.names]
        else:
            continue
        found |= {name for name in names if name.split(".")[0] == "sparsernn"}
    return found


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p, top_level=True) - {_module(p)} for p in PACKAGE.rglob("*.py")}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of module-level imports, ignoring that importing a module runs its package's
    ``__init__`` first (a package's own ``__init__`` re-exporting its modules is fine)."""
    edges = {m: {d for d in deps if d in graph and not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for dep in sorted(edges[node]):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep] if dep in path else [node, dep]
            if dep not in state:
                found = visit(dep, path + [dep])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_module_level_imports_have_no_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # the check finds one
    assert _cycle(_graph()) is None


def test_studies_import_only_downward_and_never_inside_functions():
    """A kind names its summary and analysis functions with :func:`sparsernn.registry.lazy`
    instead of importing them; ``analysis`` imports nothing of ``studies``."""
    order = ["sparsernn.studies.config", "sparsernn.studies.trial", "sparsernn.studies.kinds",
             "sparsernn.studies.units", "sparsernn.studies.executors", "sparsernn.studies.runner"]
    rank = lambda m: next((i for i, prefix in enumerate(order) if m == prefix or m.startswith(prefix + ".")), None)
    for path in (PACKAGE / "analysis").rglob("*.py"):
        studies = {m for m in _imports(path, top_level=True) | _imports(path, top_level=False)
                   if m.startswith("sparsernn.studies")}
        assert not studies, f"{_module(path)} imports {sorted(studies)}"
    for path in (PACKAGE / "studies").rglob("*.py"):
        module = _module(path)
        inside = _imports(path, top_level=False)
        assert not inside, f"{module} imports {sorted(inside)} inside a function"
        if rank(module) is None:
            continue
        for dep in _imports(path, top_level=True):
            if rank(dep) is not None:
                assert rank(dep) <= rank(module), f"{module} imports {dep}, a layer above it"


def test_lower_layers_import_nothing_of_studies_cli_or_analysis():
    graph = _graph()
    for module, deps in graph.items():
        if (module.split(".") + [""])[1] in ("errors", "checks", "seeding", "ids", "registry", "nn", "graphs", "data",
                                    "prune", "train", "checkpoint", "store"):
            upward = {d for d in deps if d.split(".")[1:2] and d.split(".")[1] in ("studies", "cli", "analysis")}
            assert not upward, f"{module} imports {sorted(upward)}"


def _code_lines(lines: list[str], node: ast.AST) -> int:
    body = node.body
    docstring = set()
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        docstring = set(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(1 for i in range(node.lineno, node.end_lineno + 1)
               if i not in docstring and lines[i - 1].strip() and not lines[i - 1].strip().startswith("#"))


def test_no_function_is_longer_than_60_lines_of_code():
    long = []
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_function and _code_lines(lines, node) > MAX_FUNCTION_LINES:
                long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({_code_lines(lines, node)})")
    assert not long


@pytest.mark.parametrize("kind", ["dense", "pruning", "structure", "compare"])
def test_only_a_kinds_own_modules_name_it(kind):
    allowed = {PACKAGE / "studies" / "kinds" / f"{kind}.py", PACKAGE / "studies" / "presets.py"}
    if kind == "dense":
        allowed.add(PACKAGE / "studies" / "kinds" / "pruning.py")  # a pruning study's bases are dense trials
    pattern = re.compile(rf"""["']{kind}["']""")
    naming = [str(p.relative_to(SRC)) for p in PACKAGE.rglob("*.py")
              if p not in allowed and pattern.search(p.read_text())]
    assert not naming
