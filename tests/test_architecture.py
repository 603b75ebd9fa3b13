"""The import graph of the project's modules (docs/ARCHITECTURE.md): read from every module's syntax
tree, function-level imports included, so a lazy import counts as much as a top-level one.

Checked: nothing imports the CLI module; the core imports nothing above the core; no import cycle
among the project's modules (``python tests/test_architecture.py`` lists any).
"""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGES = ("corpusprep", "zh_tokenizers", "manifests")
# The small core every stage stands on. `corpusprep` itself is the package's __init__ (the version
# only); worker_plan, task_calls and ray_executor are parts of the executors; options holds every option's bounds
# (it imports only errors, and the Ray executor's address check).
CORE = ("corpusprep", "corpusprep.errors", "corpusprep.atomic", "corpusprep.storage", "corpusprep.outdir",
        "corpusprep.executors", "corpusprep.worker_plan", "corpusprep.ray_executor", "corpusprep.progress",
        "corpusprep.lifecycle", "corpusprep.options", "corpusprep.task_calls")
# Imports of `cli` that exist today; each is a defect to remove, and this list may only shrink.
KNOWN_CLI_IMPORTERS = {"manifests.recipe_check"}  # checks printed zooprep commands against the typer app


def project_modules(root: Path = REPO) -> dict[str, Path]:
    """Dotted module name -> file, for the packages and cli.py (tests, tools, examples excluded)."""
    found = {"cli": root / "cli.py"}
    for top in PACKAGES:
        for path in sorted((root / top).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(name: str, path: Path, known: set[str] | dict) -> set[str]:
    """The project modules ``name`` imports anywhere in its file (relative imports resolved;
    ``from pkg import mod`` counts as an import of ``pkg.mod`` when that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in known else base)
    return {m for m in out if m in known and m != name}


def import_graph(root: Path = REPO) -> dict[str, set[str]]:
    modules = project_modules(root)
    return {name: imported_names(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components that hold a cycle (two or more modules, or one that imports
    itself), each sorted, largest first (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    found.append(sorted(component))
    return sorted(found, key=lambda c: (-len(c), c))


def _in_core(module: str) -> bool:
    return module == "corpusprep" or any(module == c or module.startswith(c + ".") for c in CORE[1:])


# ---------------------------------------------------------------------------------------------- tests
def test_the_graph_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "corpusprep"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..errors import E\n    import corpusprep.sub.c\n")
    (pkg / "sub" / "c.py").write_text("from corpusprep.sub import b, nothing\n")
    (pkg / "errors.py").write_text("import json\n")
    for top in PACKAGES[1:]:
        (tmp_path / top).mkdir()
    (tmp_path / "cli.py").write_text("from corpusprep.sub.b import f\n")
    graph = import_graph(tmp_path)
    assert graph["corpusprep.sub"] == {"corpusprep.sub.b"}
    assert graph["corpusprep.sub.b"] == {"corpusprep.errors", "corpusprep.sub.c"}
    assert graph["corpusprep.sub.c"] == {"corpusprep.sub.b", "corpusprep.sub"}
    assert graph["cli"] == {"corpusprep.sub.b"} and graph["corpusprep.errors"] == set()


def test_find_cycles_on_a_small_graph():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"g"}, "g": {"f", "d"},
             "h": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"], ["f", "g"], ["e"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    chain = {str(i): {str(i + 1)} for i in range(5000)}  # deep: no recursion limit
    chain["5000"] = {"0"}
    assert len(find_cycles(chain)[0]) == 5001


def test_nothing_imports_the_cli():
    importers = {m for m, targets in import_graph().items() if "cli" in targets}
    assert importers - KNOWN_CLI_IMPORTERS == set(), "the CLI module is the top: nothing may import it"
    assert KNOWN_CLI_IMPORTERS <= importers, f"fixed: remove {KNOWN_CLI_IMPORTERS - importers} from KNOWN_CLI_IMPORTERS"


def test_the_core_imports_nothing_above_the_core():
    graph = import_graph()
    core = [m for m in graph if _in_core(m)]
    assert {"corpusprep.errors", "corpusprep.outdir", "corpusprep.storage.fs", "corpusprep.executors"} <= set(core)
    above = {m: sorted(t for t in graph[m] if not _in_core(t)) for m in core}
    assert {m: t for m, t in above.items() if t} == {}



def test_no_import_cycle_among_the_projects_modules():
    """Layers read top to bottom: a lazy (function-level) import back up a layer is a cycle too."""
    assert find_cycles(import_graph()) == []


if __name__ == "__main__":
    for cycle in find_cycles(import_graph()):
        print(" <-> ".join(cycle))
