"""Dependencies point one way: `core` imports no domain, and no two domains import each other."""

import ast
import inspect
from collections import defaultdict
from collections.abc import Callable, Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

import opmaestro
from opmaestro.core.config import Settings
from opmaestro.main import create_app

PACKAGE_DIR = Path(opmaestro.__file__).parent
DOMAINS = frozenset(
    path.name for path in PACKAGE_DIR.iterdir() if (path / "__init__.py").is_file() and path.name != "core"
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any level (inside functions too), relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def domain_of(module: str) -> str | None:
    """`accounts` for `opmaestro.accounts.models`; None for core and the top-level composition root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "opmaestro" and parts[1] in DOMAINS else None


def import_edges() -> dict[str, set[str]]:
    """Each module of the package, with the domains it imports."""
    edges: dict[str, set[str]] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        domains = {domain for module in imported_modules(path) if (domain := domain_of(module))}
        edges[module_name(path)] = domains
    return edges


def test_the_package_has_domains_to_check():
    assert {"accounts", "audit", "consent", "health", "notifications", "policies"} <= DOMAINS
    assert "opmaestro.core.http" in import_edges()


def test_core_imports_no_domain():
    found = {
        (module, domain)
        for module, domains in import_edges().items()
        if module.startswith("opmaestro.core.")
        for domain in domains
    }
    assert found == set(), f"core imports a domain: {found}"


def test_domain_imports_have_no_cycle():
    graph: dict[str, set[str]] = defaultdict(set)
    for module, domains in import_edges().items():
        if (own := domain_of(module)) is not None:
            graph[own] |= domains - {own}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        # The cycle lists each domain before the one that imports it.
        cycle = " imports ".join(reversed(error.args[1]))
        raise AssertionError(f"domains import each other: {cycle}") from None


def _modules_where(found: Callable[[ast.AST], bool]) -> set[str]:
    """Modules of the package with at least one AST node `found` accepts."""
    return {
        module_name(path)
        for path in PACKAGE_DIR.rglob("*.py")
        if any(found(node) for node in ast.walk(ast.parse(path.read_text(), filename=str(path))))
    }


def test_only_dependency_providers_read_app_state():
    readers = _modules_where(
        lambda node: (
            isinstance(node, ast.Attribute)
            and node.attr == "state"
            and (
                (isinstance(node.value, ast.Attribute) and node.value.attr == "app")
                or (isinstance(node.value, ast.Name) and node.value.id == "app")
            )
        )
    )
    # main builds the state; core.deps hands it out; core.db's session provider opens the unit of work.
    assert readers == {"opmaestro.main", "opmaestro.core.deps", "opmaestro.core.db"}


def test_services_take_settings_from_their_callers():
    readers = _modules_where(
        lambda node: (
            isinstance(node, ast.Name | ast.Attribute)
            and (node.id if isinstance(node, ast.Name) else node.attr) == "get_settings"
        )
    )
    # Entry points read the environment once and pass the settings on.
    entry_points = {
        "opmaestro.main",
        "opmaestro.cli",
        "opmaestro.core.celery_app",
        "opmaestro.core.migrations",
    }
    assert readers - entry_points == set()


def test_production_code_does_not_guard_with_assert():
    # `python -O` strips asserts: a runtime guard must raise.
    users = _modules_where(lambda node: isinstance(node, ast.Assert))
    assert users == set(), f"assert used as a runtime guard in {users}"


def _dependency_callables(dependant: Dependant) -> Iterator[Callable[..., object]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependency_callables(sub)


def _runs_on_the_event_loop(call: Callable[..., object]) -> bool:
    target = call if inspect.isroutine(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def test_dependencies_and_handlers_run_on_the_event_loop():
    """A plain `def` dependency or handler runs in FastAPI's worker threads: a thread hand-off on
    every request for what is a lookup. Blocking work belongs in a job or an explicit to_thread."""
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    in_threads = {
        f"{route.path}: {getattr(call, '__qualname__', type(call).__qualname__)}"
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
        for call in (route.dependant.call, *_dependency_callables(route.dependant))
        if call is not None and not _runs_on_the_event_loop(call)
    }
    assert not in_threads, sorted(in_threads)
