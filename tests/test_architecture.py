"""The layering of docs/ARCHITECTURE.md, checked on the source: no import cycles, no upward imports."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "oauth_provider"

# Each layer may import only the layers listed for it (and itself). Modules not named here are the
# shared top level (conf, errors, crypto, http, jose, scopes, redirect_uris, audit, signals, ratelimit, dpop),
# which may import each other and models, never a folder above them.
TOP_LEVEL_SHARED = {
    "conf", "errors", "crypto", "http", "jose", "scopes", "redirect_uris", "audit", "signals", "ratelimit",
    "dpop",
    "jwk_sets",
}
# The shared modules use the models and the key store (jose signs and verifies with the keys).
SHARED_MAY_IMPORT = TOP_LEVEL_SHARED | {"models", "keys"}
ALLOWED = {
    # jwk_sets: the pure rules of client JWK Sets, which Application.clean applies (like redirect_uris).
    "models": {"conf", "crypto", "scopes", "redirect_uris", "jwk_sets"},
    "keys": TOP_LEVEL_SHARED | {"models"},
    "tokens": TOP_LEVEL_SHARED | {"models", "keys", "oidc"},
    # OpenID Connect's domain (claims, subjects, login time, ID Tokens): under tokens, which put the
    # client's sub and the custom claims in access tokens.
    "oidc": TOP_LEVEL_SHARED | {"models", "keys"},
    "clients": TOP_LEVEL_SHARED | {"models", "keys", "tokens", "oidc"},
    "grants": TOP_LEVEL_SHARED | {"models", "keys", "tokens", "clients", "oidc"},
    "endpoints": TOP_LEVEL_SHARED | {"models", "keys", "tokens", "clients", "grants", "oidc"},
    "views": TOP_LEVEL_SHARED | {"models", "keys", "tokens", "clients", "grants", "endpoints", "oidc"},
    "resource": TOP_LEVEL_SHARED | {"models", "keys", "tokens"},
    "admin": TOP_LEVEL_SHARED | {"models", "keys", "tokens", "clients", "endpoints", "oidc"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(relative.parts)
        if "migrations" in parts or "management" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, *, module_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("oauth_provider"):
            assert node.level == 0, f"{path}: relative import (the package uses absolute imports)"
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("oauth_provider"))
        elif isinstance(node, ast.If) and module_level_only:
            # `if TYPE_CHECKING:` blocks never run: they cannot make a cycle.
            continue
    return names


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_package_has_no_import_cycles():
    modules = _modules()
    graph = {
        name: {_resolve(target, modules) for target in _imports(path, module_level_only=True)} - {None, name}
        for name, path in modules.items()
    }
    # A module importing its own package's __init__ (or the root package) is not a cycle of logic.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(f"{t}.") and t != "oauth_provider"}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target):], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_no_layer_imports_a_layer_above_it():
    modules = _modules()
    wrong = set()
    for name, path in modules.items():
        layer = _layer(name)
        allowed = ALLOWED.get(layer, SHARED_MAY_IMPORT if layer in TOP_LEVEL_SHARED else None)
        if allowed is None:
            continue  # the outermost modules (urls, apps, checks, cleanup, receivers) may import anything
        for target in _imports(path, module_level_only=False):
            resolved = _resolve(target, modules)
            if resolved is None or resolved == "oauth_provider":
                continue
            target_layer = _layer(resolved)
            if target_layer != layer and target_layer not in allowed:
                wrong.add(f"{name} imports {resolved}")
    assert not wrong, "upward or sideways imports:\n" + "\n".join(sorted(wrong))


# What the README documents and docs/ARCHITECTURE.md declares public: it stays importable wherever the code moves.
PUBLIC_SURFACE = [
    ("oauth_provider.conf", "oauth_settings"),
    ("oauth_provider.signals", "token_issued"),
    ("oauth_provider.signals", "token_revoked"),
    ("oauth_provider.urls", "urlpatterns"),
    ("oauth_provider.urls_well_known", "urlpatterns"),
    ("oauth_provider.resource.middleware", "OAuthTokenMiddleware"),
    ("oauth_provider.resource.authentication", "BearerTokenAuthentication"),
    ("oauth_provider.resource.permissions", "HasScopes"),
    ("oauth_provider.resource.permissions", "HasReadWriteScopes"),
    ("oauth_provider.resource.decorators", "require_scopes"),
    ("oauth_provider.grants", "Grant"),
    ("oauth_provider.tokens", "default_subject"),
]
COMMANDS = ["oauth_cleanup", "oauth_create_client", "oauth_create_signing_key", "oauth_import_dot_applications",
            "oauth_rollup_activity", "oauth_rotate_signing_keys", "oauth_seed_audit"]


def test_the_public_surface_stays_importable():
    import importlib

    from django.core.management import get_commands

    missing = [f"{module}.{name}" for module, name in PUBLIC_SURFACE
               if not hasattr(importlib.import_module(module), name)]
    assert not missing, missing
    commands = get_commands()
    assert [name for name in COMMANDS if commands.get(name) != "oauth_provider"] == []
