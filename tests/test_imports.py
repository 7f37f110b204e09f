"""Imports run one way: no cycle among the modules of ``src/streamvault``.

The graph is read from the source with :mod:`ast`, so it counts every import statement: at
module level, under ``if TYPE_CHECKING:``, and inside functions (a lazy import is still a
dependency). An edge goes to the module an import names: ``from .x import y`` depends on
``x``, or on ``x.y`` when that is a module; the implicit import of a parent package is not
counted (Python imports it first, so it cannot close a cycle of its own).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import streamvault

PACKAGE = Path(streamvault.__file__).parent
Graph = dict[str, set[str]]

#: Known cycles, each the exact set of modules in one strongly connected component. An entry
#: here is a debt with an owner; the test fails if a listed cycle grows, shrinks or vanishes
#: (so its entry is deleted with the fix), and on any cycle not listed.
KNOWN_CYCLES: list[frozenset[str]] = []


def module_name(path: Path) -> str:
    parts = [PACKAGE.name, *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The first-party modules that the source of module ``name`` imports, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                target = ".".join([*parts, node.module] if node.module else parts)
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in known:
                    found.add(f"{target}.{alias.name}")
                elif target in known:
                    found.add(target)
    found.discard(name)
    return found


def import_graph() -> Graph:
    found = modules()
    known = set(found)
    return {name: imported(name, path, known) for name, path in found.items()}


def cyclic_components(graph: Graph) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(frozenset(component))
    return components


def a_cycle(graph: Graph, component: frozenset[str]) -> list[str]:
    """One cycle through ``component``, as modules in import order, first repeated last."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:  # breadth first: the shortest way back to the start
        nxt = []
        for node in frontier:
            for successor in sorted(graph[node] & component):
                if successor == start:
                    return [*paths[node], start]
                if successor not in paths:
                    paths[successor] = [*paths[node], successor]
                    nxt.append(successor)
        frontier = nxt
    raise AssertionError(f"{sorted(component)} is not a cycle")


def test_the_import_graph_has_no_cycle_but_the_known_ones() -> None:
    graph = import_graph()
    found = cyclic_components(graph)
    new = [c for c in found if c not in KNOWN_CYCLES]
    assert not new, "import cycles:\n" + "\n".join(
        " -> ".join(a_cycle(graph, component)) for component in new
    )
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in found]
    assert not gone, f"these known cycles changed or are gone; update KNOWN_CYCLES: {gone}"


def test_the_graph_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    """The reader itself: the imports a cycle hides behind are edges too."""
    source = tmp_path / "module.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from .hidden import Name\n"
        "def later() -> None:\n"
        "    from ..lazy import thing\n"
        "    import top.plain\n",
        encoding="utf-8",
    )
    known = {"top.pkg.hidden", "top.lazy", "top.plain", "top.unrelated"}
    assert imported("top.pkg.module", source, known) == {"top.pkg.hidden", "top.lazy", "top.plain"}
    graph = import_graph()
    assert len(graph) > 50
    # relative imports of a package's own modules, of a module's names, and from a parent
    assert "streamvault.restreamer.feed" in graph["streamvault.restreamer.app"]
    assert "streamvault.clock" in graph["streamvault.restreamer.app"]
    # the simulator's handlers read the world; the world knows nothing of them
    assert "streamvault.sim.world" in graph["streamvault.sim.context"]
    assert not graph["streamvault.sim.world"] & {
        "streamvault.sim.cdn",
        "streamvault.sim.context",
        "streamvault.sim.server",
        "streamvault.sim.simulator",
    }


def test_a_cycle_is_found_and_printed() -> None:
    graph: Graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    (component,) = cyclic_components(graph)
    assert component == {"a", "b", "c"}
    assert a_cycle(graph, component) == ["a", "b", "c", "a"]
