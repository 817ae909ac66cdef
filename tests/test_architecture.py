"""Package boundaries, read from the source: no import cycles, layers that stay apart, docstrings.

Imports are read with `ast` (nothing is imported), counting those inside functions too: a lazy
import still ties the two modules together and fails the moment import order changes. Imports
under `if TYPE_CHECKING:` are not runtime imports and do not count.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("service", "decoders", "simulator")
DOCUMENTED = (*PACKAGES, "tests", "bench")


def modules(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the given top-level folders."""
    out = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imported_names(name: str, path: Path) -> set[str]:
    """Every dotted name `name` imports at runtime (module level or inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                out.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in child.names)  # `from pkg import submodule`
            visit(child)

    visit(tree)
    return out


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Module -> the project modules it imports (names resolved to the longest known module)."""
    mods = modules(root, packages)
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        deps = set()
        for dotted in imported_names(name, path):
            while dotted and dotted not in mods:
                dotted = dotted.rpartition(".")[0]
            if dotted and dotted != name:
                deps.add(dotted)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (first module repeated at the end), or None."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as e:
        return list(e.args[1])
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Modules loaded when `start` is imported: its imports, theirs, and each one's parent packages."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        parents = [mod.rsplit(".", k)[0] for k in range(1, mod.count(".") + 1)]
        todo += [m for m in (*graph.get(mod, ()), *parents) if m in graph]
    return seen


def _inside(mod: str, prefix: str) -> bool:
    return mod == prefix or mod.startswith(prefix + ".")


def forbidden_imports(
    graph: dict[str, set[str]], layer: str, banned: tuple[str, ...]
) -> dict[str, list[str]]:
    """Modules of `layer` that load (directly or not) a module under one of `banned`."""
    out = {}
    for mod in graph:
        if _inside(mod, layer):
            bad = sorted(m for m in reachable(graph, mod) if any(_inside(m, b) for b in banned))
            if bad:
                out[mod] = bad
    return out


# ---- the repository


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(REPO)


def test_no_import_cycle_among_service_decoders_simulator(graph):
    assert len(graph) > 50  # really read the packages
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"


def test_decoders_never_import_the_service_or_the_simulator(graph):
    assert "decoders.sources" in graph
    assert forbidden_imports(graph, "decoders", ("service", "simulator")) == {}


def test_simulator_reads_preset_data_but_never_the_engine_or_the_rules(graph):
    assert "service.presets" in reachable(graph, "simulator.model")  # the data it does read
    assert forbidden_imports(graph, "simulator", ("service.engine", "service.rules")) == {}


def test_every_python_file_starts_with_a_module_docstring():
    files = [p for pkg in DOCUMENTED for p in sorted((REPO / pkg).rglob("*.py"))]
    assert len(files) > 100
    missing = [
        str(p.relative_to(REPO))
        for p in files
        if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert missing == []


# ---- the checks themselves, on small made-up trees


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_lazy_import_inside_a_function_still_makes_a_cycle(tmp_path):
    root = _tree(
        tmp_path,
        {
            "decoders/__init__.py": '"""d"""\n',
            "decoders/sources.py": '"""s"""\ndef open_source():\n    from decoders.mqtt import MqttSource\n',
            "decoders/mqtt.py": '"""m"""\nfrom decoders.sources import Source\n',
        },
    )
    cycle = find_cycle(import_graph(root, ("decoders",)))
    assert cycle is not None and set(cycle) == {"decoders.sources", "decoders.mqtt"}


def test_relative_and_from_package_imports_are_resolved_and_type_checking_ignored(tmp_path):
    root = _tree(
        tmp_path,
        {
            "simulator/__init__.py": '"""p"""\n',
            "simulator/emit/__init__.py": '"""e"""\nfrom . import p3tcp\n',
            "simulator/emit/base.py": '"""b"""\n',
            "simulator/emit/p3tcp.py": (
                '"""t"""\nfrom typing import TYPE_CHECKING\nfrom .base import x\n'
                "if TYPE_CHECKING:\n    from simulator.emit import play\n"
            ),
        },
    )
    graph = import_graph(root, ("simulator",))
    assert graph["simulator.emit"] == {"simulator.emit.p3tcp"}
    assert graph["simulator.emit.p3tcp"] == {"simulator.emit.base"}
    assert find_cycle(graph) is None
    (root / "simulator/emit/p3tcp.py").write_text(
        '"""t"""\nfrom simulator.emit import Feed\n', encoding="utf-8"
    )
    assert find_cycle(import_graph(root, ("simulator",))) is not None


def test_a_layer_loading_a_banned_module_indirectly_is_caught(tmp_path):
    root = _tree(
        tmp_path,
        {
            "service/__init__.py": '"""s"""\n',
            "service/presets.py": '"""p"""\nimport service.engine.core\n',
            "service/engine/__init__.py": '"""e"""\n',
            "service/engine/core.py": '"""c"""\n',
            "simulator/__init__.py": '"""m"""\n',
            "simulator/model.py": '"""m"""\nfrom service import presets\n',
        },
    )
    graph = import_graph(root, ("service", "simulator"))
    assert forbidden_imports(graph, "simulator", ("service.engine",)) == {
        "simulator.model": ["service.engine", "service.engine.core"]
    }
    assert forbidden_imports(graph, "simulator", ("service.rules",)) == {}
