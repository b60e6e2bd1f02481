"""The layers depend one way: reproductions → data_prep → common. An import (module-level or
inside a function) from a lower layer to a higher one fails here, and so does a circle of
module-level imports inside the project."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("common", "data_prep", "reproductions")  # lowest first


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool = False) -> list[tuple[str, int]]:
    """(imported module, line) of every import in the file; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            out.append((base, node.lineno))
            out += [(f"{base}.{a.name}", node.lineno) for a in node.names]
    return out


def _files(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def layer_violations(files_by_layer: dict[str, list[Path]]) -> list[str]:
    bad: dict[tuple, str] = {}
    for i, layer in enumerate(LAYERS):
        higher = LAYERS[i + 1:]
        for path in files_by_layer[layer]:
            for name, line in _imports(path):
                if name.split(".")[0] in higher:
                    bad.setdefault((path, line), f"{path.relative_to(ROOT)}:{line} imports {name} "
                                   f"({layer} may not depend on {name.split('.')[0]})")
    return list(bad.values())


def test_lower_layers_never_import_higher_ones():
    assert layer_violations({layer: _files(layer) for layer in LAYERS}) == []


def test_the_check_catches_a_wrong_import(tmp_path):
    bad = tmp_path / "common" / "oops.py"
    bad.parent.mkdir()
    bad.write_text("def f():\n    from reproductions import runner\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = layer_violations({"common": [bad], "data_prep": [], "reproductions": []})
    finally:
        ROOT = saved
    assert found == ["common/oops.py:2 imports reproductions "
                     "(common may not depend on reproductions)"]


def test_no_circle_of_module_level_imports():
    modules = {_module_name(p): p for layer in LAYERS for p in _files(layer)}
    # a submodule importing its own package (its __init__) is how packages share names, not a
    # circle: edges to a parent package are left out
    graph = {m: {name for name, _ in _imports(p, top_level_only=True)
                 if name in modules and name != m and not m.startswith(name + ".")}
             for m, p in modules.items()}
    state: dict[str, int] = {}
    circle: list[str] = []

    def visit(m: str, stack: list[str]) -> bool:
        state[m] = 1
        for n in graph[m]:
            if state.get(n) == 1:
                circle.extend(stack[stack.index(n):] + [n] if n in stack else [m, n])
                return True
            if state.get(n) is None and visit(n, stack + [n]):
                return True
        state[m] = 2
        return False

    for m in sorted(graph):
        if state.get(m) is None and visit(m, [m]):
            pytest.fail(f"import circle: {' -> '.join(circle)}")
