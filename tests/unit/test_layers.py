"""module_utils is layered: a package imports only from packages below it, and no modules import
each other in a circle.  The layers are the ones docs/architecture.md draws; a new package needs a
rank here and a line there."""

import ast
import os

import pytest

from conftest import ROOT

MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
PACKAGE = "ansible_collections.nsbridge.network.plugins.module_utils"
# bottom (0) to top; packages of one rank do not import each other
LAYERS = {"common": 0, "kernel": 1, "engine": 1, "firewall": 2, "planners": 3, "calls": 4, "roles": 5, "day2": 5}


def modules():
    """{'kernel.netlink': path} for every module (and package __init__) under module_utils."""
    found = {}
    for folder, _dirs, files in os.walk(MODULE_UTILS):
        for name in files:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, name), MODULE_UTILS)[:-3].replace(os.sep, ".")
                found[rel[:-len(".__init__")] if rel.endswith("__init__") else rel] = os.path.join(folder, name)
    return found


def imports_of(name, path):
    """The nsbridge module_utils modules ``name`` imports, at top level or inside functions."""
    is_pkg = path.endswith("__init__.py")
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    out = set()
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    known = modules()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith(PACKAGE):
                stem = node.module[len(PACKAGE) + 1:]
            else:
                continue
            # "from ..planners import bridge" imports the module planners.bridge
            targets = [stem + "." + a.name if stem + "." + a.name in known else stem for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name[len(PACKAGE) + 1:] for a in node.names if a.name.startswith(PACKAGE + ".")]
        out.update(t for t in targets if t and t != name)
    return out


def graph():
    return {name: imports_of(name, path) for name, path in modules().items()}


def test_every_module_is_in_a_layer():
    names = modules()
    loose = sorted(n for n in names if "." not in n and n not in LAYERS)
    assert not loose, "modules outside a layer package (put each in one): %s" % loose
    assert {n.split(".")[0] for n in names} == set(LAYERS), "LAYERS and the packages on disk differ"


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_package_says_what_it_holds(package):
    with open(os.path.join(MODULE_UTILS, package, "__init__.py")) as f:
        doc = ast.get_docstring(ast.parse(f.read()))
    assert doc and "Layer" in doc and "import" in doc.lower(), \
        "%s/__init__.py: say its layer, what it holds and what it may import" % package
    with open(os.path.join(ROOT, "docs", "architecture.md")) as f:
        assert "`%s/`" % package in f.read(), "docs/architecture.md does not describe %s/" % package


def upward(edges):
    """The imports of ``edges`` that do not go down a layer."""
    out = []
    for name, targets in sorted(edges.items()):
        mine = name.split(".")[0]
        for target in sorted(targets):
            theirs = target.split(".")[0]
            if theirs != mine and LAYERS[theirs] >= LAYERS[mine]:
                out.append("%s -> %s" % (name, target))
    return out


def test_imports_only_go_down():
    found = upward(graph())
    assert not found, "imports that do not go down a layer:\n" + "\n".join(found)


def test_no_circle():
    edges = graph()
    state, path, circles = {}, [], []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                circles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "done"
    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not circles, "import circles: %s" % ["->".join(c) for c in circles]


def test_the_checker_sees_an_upward_import(tmp_path):
    """A planner importing a role helper, or a kernel reader importing the engine, is caught."""
    fake = tmp_path / "planners"
    fake.mkdir()
    (fake / "bad.py").write_text("def f():\n    from ..roles.network import network_plan\n")
    edges = {"planners.bad": imports_of("planners.bad", str(fake / "bad.py"))}
    assert edges == {"planners.bad": {"roles.network"}}
    assert upward(edges) == ["planners.bad -> roles.network"]
    assert upward({"kernel.netlink": {"engine.reconcile"}}) == ["kernel.netlink -> engine.reconcile"]


# what the controller never needs: every ansible-playbook worker that runs a task naming one of the roles'
# filters imports the filter plugin anew (and compiles it from source), so a kernel reader, a firewall backend
# or a planner in that chain costs every such task its import (the network_plan filter's chain was 57 ms)
HOST_ONLY = ("kernel", "firewall", "planners", "engine", "calls", "day2")


def controller_imports(edges):
    """{filter or action plugin: the module_utils modules it imports, transitively} (``edges``: graph())."""
    out = {}
    for kind in ("filter", "action"):
        folder = os.path.join(ROOT, "plugins", kind)
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py"):
                continue
            plugin = "%s/%s" % (kind, name)
            todo, seen = list(imports_of(plugin, os.path.join(folder, name))), set()
            while todo:
                mod = todo.pop()
                if mod in edges and mod not in seen:
                    seen.add(mod)
                    todo.extend(edges[mod])
            out[plugin] = seen
    return out


def test_the_controller_plugins_import_nothing_of_the_host_side():
    edges = graph()
    plugins = controller_imports(edges)
    found = {plugin: sorted(m for m in mods if m.split(".")[0] in HOST_ONLY) for plugin, mods in plugins.items()}
    found = {plugin: mods for plugin, mods in found.items() if mods}
    assert not found, "controller plugins importing host-side module_utils: %s" % found
    assert "roles.network" in plugins["filter/network_plan.py"], "the checker follows the imports"
    # and roles/, the controller's layer, whether a plugin imports the module yet or not
    roles = {name: sorted(t for t in targets if t.split(".")[0] in HOST_ONLY)
             for name, targets in edges.items() if name.startswith("roles.")}
    assert not any(roles.values()), "roles/ importing host-side module_utils: %s" % roles
