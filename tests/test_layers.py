"""The three floors of twoface, checked on the source itself.

Why a test: the layering (orchestrators call stages, stages stand on the
library, the library never reaches up) is what lets the UI, export and batch
front ends reuse the pieces; a stray import quietly breaks it. This parses
every module's imports (module-level and inside functions) with ``ast``, so
it needs nothing installed and names the offending import when it fails.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "twoface"

ORCHESTRATORS = {"cli", "commands", "demo", "ui", "batch"}
STAGES = {"extract", "curate", "train", "convert", "evaluate", "inspect", "export"}
LIBRARY = {"faces", "store", "media", "models", "data", "fsutil", "device", "errors", "options", "progress"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(name: str, target: str) -> str | None:
    """The deepest known module that ``target`` names (``a.b.c`` where only ``a.b`` exists -> ``a.b``)."""
    parts = target.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def imports(name: str) -> list[tuple[str, int, str]]:
    """(imported module, line, source text) for every twoface import in module ``name``."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(), str(path))
    here = name if _is_package(name) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    target = _resolve(name, alias.name)
                    if target:
                        found.append((target, node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                if node.level > 1:
                    base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != PACKAGE:
                continue
            text = f"from {'.' * node.level}{node.module or ''} import {', '.join(a.name for a in node.names)}"
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                target = sub if sub in MODULES else _resolve(name, mod)
                if target:
                    found.append((target, node.lineno, text))
    return found


def floor(name: str) -> str:
    parts = name.split(".")
    if len(parts) == 1:
        return "library"  # the package root: version and the callable-module hook, imports nothing
    top = parts[1]
    if top in ORCHESTRATORS:
        return "orchestrator"
    if top in STAGES:
        return "stage"
    if top in LIBRARY:
        return "library"
    raise AssertionError(f"{MODULES[name]}: twoface.{top} is on no floor; add it to tests/test_layers.py")


def component(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_is_on_a_floor():
    for name in MODULES:
        floor(name)


def violations(names) -> list[str]:
    """One line per import in ``names`` that breaks the floors, naming the file, line and import."""
    bad = []
    for name in names:
        path, mine = MODULES[name], floor(name)
        for target, line, text in imports(name):
            theirs = floor(target)
            where = f"{path.relative_to(SRC)}:{line}"
            if mine == "library" and theirs != "library":
                bad.append(f"{where}: library imports the {theirs} {target}: {text}")
            elif mine == "stage" and theirs == "orchestrator":
                bad.append(f"{where}: stage imports the orchestrator {target}: {text}")
            elif mine == "stage" and theirs == "stage" and component(target) != component(name):
                bad.append(f"{where}: stage imports another stage {target}: {text}")
    return bad


def test_floors():
    bad = violations(MODULES)
    assert not bad, "imports that break the floors:\n" + "\n".join(bad)


def _cycles() -> list[list[str]]:
    graph = {name: sorted({t for t, _, _ in imports(name) if t != name}) for name in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    return out


def test_no_import_cycles():
    msgs = []
    for comp in _cycles():
        members = set(comp)
        edges = [f"  {MODULES[n].relative_to(SRC)}:{line}: {text}"
                 for n in comp for t, line, text in imports(n) if t in members and t != n]
        msgs.append(" <-> ".join(comp) + "\n" + "\n".join(edges))
    assert not msgs, "import cycles:\n" + "\n".join(msgs)


@pytest.mark.parametrize("rel, text, expect", [
    ("convert/planted.py", "from ..extract import FaceAnalyzer", "stage imports another stage twoface.extract"),
    ("convert/planted.py", "def f():\n    from ..cli import main", "stage imports the orchestrator twoface.cli"),
    ("faces/planted.py", "from ..convert.options import ConvertOptions",
     "library imports the stage twoface.convert.options"),
    ("store/planted.py", "import twoface.commands.extract", "library imports the orchestrator twoface.commands.extract"),
])
def test_check_names_the_import(monkeypatch, rel, text, expect):
    """The check can fail: a planted bad import (even inside a function) is reported with its text."""
    path = SRC / PACKAGE / rel
    name = f"{PACKAGE}.{rel[:-3].replace('/', '.')}"
    monkeypatch.setitem(MODULES, name, path)
    read = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: text if self == path else read(self, *a, **k))
    bad = violations([name])
    assert len(bad) == 1 and expect in bad[0] and text.split("\n")[-1].strip() in bad[0], bad


def test_cycle_check_finds_a_planted_loop(monkeypatch):
    path = SRC / PACKAGE / "media" / "planted.py"
    monkeypatch.setitem(MODULES, "twoface.media.planted", path)
    monkeypatch.setitem(MODULES, "twoface.media.planted2", path.with_name("planted2.py"))
    texts = {path: "from . import planted2", path.with_name("planted2.py"): "def f():\n    from .planted import x"}
    read = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: texts.get(self) or read(self, *a, **k))
    assert ["twoface.media.planted", "twoface.media.planted2"] in _cycles()


def test_standard_library_imports_are_at_the_top():
    """Lazy imports inside functions are for heavy packages (torch, mediapipe, cv2, ...) only."""
    bad = []
    for path in MODULES.values():
        tree = ast.parse(path.read_text(), str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    mods = [node.module]
                else:
                    continue
                bad += [f"{path.relative_to(SRC)}:{node.lineno}: import {m} inside {fn.name}()"
                        for m in mods if m.split(".")[0] in sys.stdlib_module_names]
    assert not bad, "standard-library imports belong at the top of the module:\n" + "\n".join(bad)
