"""The package layout keeps its shape: imports point down the list of parts, never up and
never in a circle, and no module grows past the size a reader can hold.

The order (top to bottom) is the one in README.md's layout section.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "pijler3"

# Top to bottom: a part may import only the parts below it (and itself).
ORDER = (
    "cli",
    "demo",
    "report",
    "steps",
    "governance",
    "analysis",
    "extracts",
    "exchange",
    "contract",
)
MAX_LINES = 600


def _part(module: str) -> str | None:
    """The part of ``pijler3.x.y`` (``x``), or None for the package root."""
    pieces = module.split(".")
    if pieces[0] != "pijler3" or len(pieces) < 2:
        return None
    return pieces[1] if pieces[1] in ORDER else None


def _imports(path: Path) -> set[str]:
    """Every pijler3 module ``path`` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("pijler3"))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("pijler3")
        ):
            module = str(node.module)
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
    return found


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


def test_every_module_belongs_to_a_part() -> None:
    loose = [m for m in _modules() if _part(m) is None and m not in ("pijler3", "pijler3.__main__")]
    assert loose == []


def test_imports_point_down_the_layout() -> None:
    upward = []
    for name, path in _modules().items():
        own = _part(name)
        if own is None:
            continue
        for imported in _imports(path):
            other = _part(imported)
            if other is not None and ORDER.index(other) < ORDER.index(own):
                upward.append(f"{name} imports {imported}")
    assert upward == []


def test_no_import_circle_between_modules() -> None:
    modules = _modules()
    graph = {
        name: {i for i in _imports(path) if i in modules and i != name}
        for name, path in modules.items()
    }
    # Package __init__ files import nothing, so an edge to a package means its module.
    circles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert circles == []


def test_no_module_is_longer_than_a_reader_can_hold() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_library_messages_never_name_a_command_line_option() -> None:
    """Errors raised outside the CLI say what is wrong in words; the CLI names its own
    options (through ``UserError.param``), so that the library reads right from Python."""
    flag = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
    found = []
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Raise):
                continue
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Constant)
                    and isinstance(inner.value, str)
                    and flag.search(inner.value)
                ):
                    found.append(f"{path.relative_to(SRC)}:{inner.lineno}: {inner.value}")
    assert found == []
