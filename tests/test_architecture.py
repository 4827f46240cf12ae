"""The shape of the code: no import cycle among the project's modules, imports inside functions included.

`lint-imports` (run by `make test`) checks the layers; this checks what a layers contract cannot see,
a cycle inside one layer.
"""

import graphlib

import grimp

PACKAGES = (
    "config",
    "consumers",
    "delivery",
    "driver_api",
    "events",
    "restaurant",
    "side_effects",
    "aggregators",
    "integrations",
    "devtools",
)


def first_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of `graph` (its modules in import order, the first repeated at the end), or []."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(reversed(error.args[1]))
    return []


def test_first_cycle_finds_a_cycle() -> None:
    cycle = first_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert cycle[0] == cycle[-1]
    assert sorted(cycle[:-1]) == ["a", "b", "c"]
    assert first_cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_the_projects_modules() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    imports = {
        module: {imported for imported in graph.find_modules_directly_imported_by(module) if imported in graph.modules}
        for module in graph.modules
    }
    assert first_cycle(imports) == []
