"""The direction of imports (ENGINEERING.md "Layout", docs/architecture.md "Apps").

* No circle of imports between any two modules of ``loupan`` (function-level imports
  count; migrations are left out).
* ``loupan.core`` imports no app, and the apps keep to their layers:
  core ← accounts : audit ← approvals ← inventory ← customers ← deals ← (payments …) ←
  (reports) ← settings, urls, api_urls, wsgi, asgi, __main__. Both are import-linter
  contracts in ``pyproject.toml`` ([tool.importlinter]); this module runs them. The
  layers contract lists today's known breaches in its ``ignore_imports``, so that only a
  new one fails.

The graph is grimp's (import-linter's own parser): it resolves relative imports and reads
every ``import`` statement of a file, at any depth, without importing anything.
"""

import pkgutil
import subprocess
import sys
import warnings
from pathlib import Path

import grimp
import pytest
from importlinter.api import read_configuration

import loupan

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _is_migration(module: str) -> bool:
    return ".migrations" in module


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("loupan", cache_dir=None)


def _contracts() -> dict[str, dict]:
    options = read_configuration(str(PYPROJECT))["contracts_options"]
    return {c["id"]: c for c in options}


# --- (a) no circle of imports -------------------------------------------------------------


def _strongly_connected(nodes, edges):
    """Tarjan's algorithm, iterative: the components of more than one module."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
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
                        found.append(component)
    return found


def _shortest_cycle(start, component, edges):
    """The shortest path start → … → start inside ``component`` (breadth first)."""
    previous = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(edges[node] & component):
            if child == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return list(reversed(path)) + [start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"no cycle through {start}")


def test_no_import_cycle_between_modules(graph):
    modules = {m for m in graph.modules if not _is_migration(m)}
    edges = {
        m: {i for i in graph.find_modules_directly_imported_by(m) if i in modules and i != m}
        for m in modules
    }
    problems = []
    for component in _strongly_connected(modules, edges):
        cycle = _shortest_cycle(min(component), component, edges)
        steps = []
        for importer, imported in zip(cycle, cycle[1:], strict=False):
            lines = sorted(
                d["line_number"]
                for d in graph.get_import_details(importer=importer, imported=imported)
            )
            steps.append(f"  {importer} -> {imported} (l.{', l.'.join(map(str, lines))})")
        problems.append(
            f"circle of {len(component)} modules ({', '.join(sorted(component))}), e.g.:\n"
            + "\n".join(steps)
        )
    assert not problems, "import circles in loupan:\n" + "\n".join(problems)


def test_cycle_finder_names_a_cycle():
    """The finder itself: a → b → c → a is reported, d → a is not part of it."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    components = _strongly_connected(set(edges), edges)
    assert components == [{"a", "b", "c"}]
    assert _shortest_cycle("a", components[0], edges) == ["a", "b", "c", "a"]


# --- (b) and (c): the import-linter contracts -------------------------------------------


@pytest.mark.parametrize("contract", ["core-names-no-app", "app-layers"])
def test_import_contract_kept(contract):
    """``lint-imports`` on one contract; a broken one prints the exact imports."""
    assert contract in _contracts(), f"no contract {contract!r} in pyproject.toml"
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--contract", contract],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # An ignored (known) breach that no longer exists: its line in pyproject.toml can go.
    stale = [line for line in result.stdout.splitlines() if "No matches for ignored" in line]
    if stale:
        warnings.warn(f"{contract}: " + " ".join(stale), stacklevel=1)


def test_core_contract_names_every_app():
    """A new app is forbidden to core as soon as it exists (the layers contract, being
    exhaustive, already refuses an app it does not place)."""
    apps = {
        f"loupan.{info.name}"
        for info in pkgutil.iter_modules(loupan.__path__)
        if info.ispkg and info.name != "core"
    }
    assert apps, "no app found under loupan"
    forbidden = set(_contracts()["core-names-no-app"]["forbidden_modules"])
    assert apps <= forbidden, f"add to the core contract's forbidden_modules: {apps - forbidden}"
