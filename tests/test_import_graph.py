"""The package's modules import each other without cycles, function-local imports included.

A cycle held together by imports moved into functions still couples the modules both ways; this
test reads every module's source (no import is executed), resolves each ``import`` and
``from ... import`` to the module that defines the name, and looks for cycles. A package's
``__init__`` only re-exports its submodules, so imports *from* an ``__init__`` are not edges; an
import *through* one is followed to the submodule that defines the name.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Optional, Set

from .conftest import ROOT

PACKAGE = "pose_regressor_node"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> Dict[str, Path]:
    return {_module_name(p): p for p in (ROOT / PACKAGE).rglob("*.py")}


def _resolve(current: str, is_package: bool, level: int, module: Optional[str]) -> str:
    if level == 0:
        return module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _reexports(modules: Dict[str, Path], package: str) -> Dict[str, str]:
    """name -> defining submodule, for the ``from .sub import name`` lines of a package's __init__."""
    path = modules.get(package)
    if path is None or path.name != "__init__.py":
        return {}
    out = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            source = _resolve(package, True, node.level, node.module)
            for alias in node.names:
                out[alias.asname or alias.name] = source
    return out


def _target(modules: Dict[str, Path], name: str, imported: Optional[str] = None) -> Optional[str]:
    if imported and f"{name}.{imported}" in modules:
        return f"{name}.{imported}"
    if imported and imported in _reexports(modules, name):
        return _target(modules, _reexports(modules, name)[imported])
    return name if name in modules else None


def import_graph() -> Dict[str, Set[str]]:
    modules = _modules()
    graph: Dict[str, Set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):  # every import, at any depth
            targets: List[Optional[str]] = []
            if isinstance(node, ast.Import):
                targets = [_target(modules, alias.name) for alias in node.names if alias.name.startswith(PACKAGE)]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(name, False, node.level, node.module)
                if source.startswith(PACKAGE):
                    targets = [_target(modules, source, alias.name) for alias in node.names]
            graph[name].update(t for t in targets if t and t != name)
    return graph


def find_cycle(graph: Dict[str, Set[str]]) -> Optional[List[str]]:
    state: Dict[str, int] = {}  # 1: on the current path, 2: done
    stack: List[str] = []

    def visit(node: str) -> Optional[List[str]]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_function_local_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    graph = import_graph()
    # a function-local import is an edge too: the demo imports the live player inside run()
    assert "pose_regressor_node.replay.live" in graph["pose_regressor_node.replay.demo"]
    # an import through a package __init__ is followed to the module that defines the name
    assert "pose_regressor_node.fusion.config" in graph["pose_regressor_node.replay.settings"]
