"""Package boundaries, read from the source: no import cycles, layers that stay apart, docstrings.

Imports are read with `ast` (nothing is imported), counting those inside functions too: a lazy
import still ties the two modules together and fails the moment import order changes. Imports
under `if TYPE_CHECKING:` count as well: a type-only circle is still two modules that each need the
other to be understood (a protocol on the using side breaks it, as service/standby/peer.py does).
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
    """Every dotted name `name` imports (module level, inside a function, or for type checking)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
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


def routers(graph: dict[str, set[str]]) -> list[str]:
    """The HTTP routers: `service/api/*`, each feature's `api.py` and `*_api.py`."""
    return sorted(
        m for m in graph if _inside(m, "service.api") or m.rpartition(".")[2] == "api" or m.endswith("_api")
    )


def manager_assignments(path: Path) -> list[str]:
    """`mgr.x = ...` (or `manager.x`) in a file: wiring hidden in a router."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for tg in targets:
            if isinstance(tg, ast.Attribute) and ast.unparse(tg.value) in ("mgr", "manager", "self.mgr"):
                out.append(f"{path.name}:{node.lineno}: {ast.unparse(tg)}")
    return out


def test_routers_are_handed_their_services_and_never_load_the_app(graph):
    found = routers(graph)
    assert {"service.sessions.api", "service.meetings.api", "service.seasons.api"} <= set(found)
    assert {r: "service.app" for r in found if "service.app" in reachable(graph, r)} == {}
    mods = modules(REPO)
    assert [a for r in found for a in manager_assignments(mods[r])] == []


HTTP_MODULES = ("fastapi", "starlette", "http", "service.http_errors", "service.app")


def http_statuses(path: Path) -> list[str]:
    """HTTP statuses chosen in a file: an int 400-599 given as a `status` argument, to an exception, or
    assigned to a `status` name."""

    def is_status(v: ast.AST) -> bool:
        return isinstance(v, ast.Constant) and type(v.value) is int and 400 <= v.value < 600

    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            raising = ast.unparse(node.func).endswith(("Error", "Exception"))
            values = [k.value for k in node.keywords if "status" in (k.arg or "")]
            values += [*node.args, *(k.value for k in node.keywords)] if raising else []
        elif isinstance(node, ast.Assign):
            values = [node.value] if "status" in ast.unparse(node.targets[0]).lower() else []
        else:
            continue
        if any(is_status(v) for v in values):
            out.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:80]}")
    return sorted(out, key=lambda x: int(x.split(":")[1]))


def test_the_engine_knows_nothing_of_http(graph):
    """The engine raises domain errors; service/http_errors.py alone turns them into statuses."""
    engine = {m: p for m, p in modules(REPO).items() if _inside(m, "service.engine")}
    assert len(engine) > 8
    loaded = {
        m: sorted(set(graph[m]) | {i for i in imported_names(m, p) if i.split(".")[0] in HTTP_MODULES})
        for m, p in engine.items()
    }
    assert {
        m: [i for i in deps if any(_inside(i, h) for h in HTTP_MODULES)]
        for m, deps in loaded.items()
        if any(_inside(i, h) for i in deps for h in HTTP_MODULES)
    } == {}
    assert [s for p in engine.values() for s in http_statuses(p)] == []


SIZE_LIMITS = {"service/engine/engine.py": 600}  # the engine's core; its concerns live beside it
MODULE_LIMIT = 700


def test_no_module_grows_into_a_second_one():
    """A module past these sizes is doing two jobs: split it by concern (issue 25)."""
    sizes = {
        str(p.relative_to(REPO)): len(p.read_text(encoding="utf-8").splitlines())
        for p in sorted((REPO / "service").rglob("*.py"))
    }
    assert sizes["service/engine/engine.py"] > 100  # really read
    assert {f: n for f, n in sizes.items() if n >= SIZE_LIMITS.get(f, MODULE_LIMIT + 1)} == {}


def test_http_statuses_in_code_are_found(tmp_path):
    code = (
        '"""m"""\nraise LineError("x", status=404)\nstatus = 409\n'
        "Meta(max_length=500)\nraise GoneError(410)\n"
    )
    path = _tree(tmp_path, {"m.py": code}) / "m.py"
    assert [s.split(":")[1] for s in http_statuses(path)] == ["2", "3", "5"]


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


def test_relative_and_from_package_imports_are_resolved_and_type_checking_imports_seen(tmp_path):
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
    assert graph["simulator.emit.p3tcp"] == {"simulator.emit.base", "simulator.emit"}  # the type-only one too
    cycle = find_cycle(graph)
    assert cycle is not None and set(cycle) == {"simulator.emit", "simulator.emit.p3tcp"}
    (root / "simulator/emit/p3tcp.py").write_text('"""t"""\nfrom .base import x\n', encoding="utf-8")
    assert find_cycle(import_graph(root, ("simulator",))) is None


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


def test_a_router_loading_the_app_or_wiring_the_manager_is_caught(tmp_path):
    root = _tree(
        tmp_path,
        {
            "service/__init__.py": '"""s"""\n',
            "service/app.py": '"""a"""\n',
            "service/util.py": (
                '"""u"""\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import service.app\n'
            ),
            "service/things/__init__.py": '"""t"""\n',
            "service/things/api.py": (
                '"""r"""\nfrom service import util\ndef build(mgr, book):\n    mgr.things = book\n'
            ),
        },
    )
    graph = import_graph(root, ("service",))
    assert routers(graph) == ["service.things.api"]
    assert "service.app" in reachable(graph, "service.things.api")  # through a type-only import
    assert manager_assignments(root / "service/things/api.py") == ["api.py:4: mgr.things"]
