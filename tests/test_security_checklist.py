"""docs/SECURITY.md and the tests agree: every checklist item is proved by a test marked with it.

The tests are read statically (``ast``), not collected, so running this module alone, or any subset
of the suite, still checks every test file under ``tests/``. A test proves item ``S<n>`` when it
carries ``@pytest.mark.security("S<n>", ...)`` (or its module's ``pytestmark`` does). An item marked
**Open:** in the document is one the code does not meet yet: its tests must all be expected failures
(``xfail(strict=True)``), and an item whose tests are all expected failures must say Open.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CHECKLIST = TESTS.parent / "docs" / "SECURITY.md"

# "- **S12. Introspection.** ..." starts an item; its text runs to the next item or heading.
ITEM = re.compile(r"^- \*\*(S\d+)\.", re.MULTILINE)
ITEM_ID = re.compile(r"S[1-9]\d*")
OPEN = "**Open:**"


@dataclass(frozen=True)
class MarkedTest:
    where: str  # path:line
    name: str
    items: tuple[str, ...]
    expected_failure: bool
    has_body: bool


def checklist() -> dict[str, str]:
    """Item id -> the item's text, in document order."""
    text = CHECKLIST.read_text(encoding="utf-8")
    starts = list(ITEM.finditer(text))
    items = {}
    for number, match in enumerate(starts):
        end = starts[number + 1].start() if number + 1 < len(starts) else len(text)
        body = text[match.start():end]
        heading = body.find("\n#")
        items[match.group(1)] = body if heading == -1 else body[:heading]
    return items


def _mark_name(node: ast.expr) -> str | None:
    """``pytest.mark.<name>`` or ``pytest.mark.<name>(...)`` -> name."""
    target = node.func if isinstance(node, ast.Call) else node
    if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute)
            and target.value.attr == "mark" and isinstance(target.value.value, ast.Name)
            and target.value.value.id == "pytest"):
        return target.attr
    return None


def _security_items(node: ast.expr, where: str) -> tuple[str, ...]:
    if not isinstance(node, ast.Call) or node.keywords or not node.args:
        raise AssertionError(f"{where}: security() takes item ids as positional strings")
    items = []
    for arg in node.args:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise AssertionError(f"{where}: security() arguments must be string literals, e.g. \"S5\"")
        items.append(arg.value)
    return tuple(items)


def _marks(nodes: list[ast.expr]) -> list[ast.expr]:
    """Flatten ``pytestmark = [a, b]`` and decorator lists."""
    flat = []
    for node in nodes:
        flat.extend(node.elts if isinstance(node, (ast.List, ast.Tuple)) else [node])
    return flat


def _is_stub(function: ast.FunctionDef) -> bool:
    body = [statement for statement in function.body
            if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))]
    return all(isinstance(statement, ast.Pass) for statement in body)


@cache
def marked_tests() -> tuple[MarkedTest, ...]:
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        relative = path.relative_to(TESTS.parent)
        module_items: tuple[str, ...] = ()
        module_xfail = False
        for statement in tree.body:
            if (isinstance(statement, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in statement.targets)):
                for mark in _marks([statement.value]):
                    if _mark_name(mark) == "security":
                        module_items += _security_items(mark, f"{relative}:{statement.lineno}")
                    module_xfail |= _mark_name(mark) == "xfail"
        functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
        for function in functions:
            where = f"{relative}:{function.lineno}"
            items = module_items if function.name.startswith("test") else ()
            expected_failure = module_xfail
            for decorator in _marks(function.decorator_list):
                if _mark_name(decorator) == "security":
                    items += _security_items(decorator, where)
                expected_failure |= _mark_name(decorator) == "xfail"
            if items:
                found.append(MarkedTest(where, function.name, items, expected_failure, not _is_stub(function)))
    return tuple(found)


def covering(item: str, *, expected_failure: bool) -> list[MarkedTest]:
    return [test for test in marked_tests() if item in test.items and test.expected_failure == expected_failure]


def test_the_checklist_numbers_its_items_s1_onwards_without_gaps():
    ids = list(checklist())
    assert len(ids) >= 31
    assert ids == [f"S{number}" for number in range(1, len(ids) + 1)]


def test_every_item_has_a_test_carrying_its_marker():
    missing = [item for item in checklist() if not any(item in test.items for test in marked_tests())]
    assert not missing, f"items of docs/SECURITY.md no test is marked with: {missing}"


def test_every_marker_names_an_item_of_the_checklist():
    items = set(checklist())
    unknown = [(test.where, item) for test in marked_tests() for item in test.items
               if not ITEM_ID.fullmatch(item) or item not in items]
    assert not unknown, f"security markers naming no item of docs/SECURITY.md: {unknown}"


def test_security_markers_sit_on_tests_that_test_something():
    wrong = [test.where for test in marked_tests() if not test.name.startswith("test") or not test.has_body]
    assert not wrong, f"security markers on a non-test or an empty test: {wrong}"


def test_open_items_are_exactly_those_proved_only_by_expected_failures():
    said_open = {item for item, text in checklist().items() if OPEN in text}
    only_expected_failures = {
        item for item in checklist()
        if covering(item, expected_failure=True) and not covering(item, expected_failure=False)
    }
    assert said_open == only_expected_failures, (
        f"say Open but have a passing test: {sorted(said_open - only_expected_failures)}; "
        f"only expected failures but not Open: {sorted(only_expected_failures - said_open)}"
    )


def test_met_items_have_no_expected_failures():
    """A met item is proved by passing tests; an xfail test would hide a regression behind it."""
    met = {item for item, text in checklist().items() if OPEN not in text}
    hidden = [(test.where, item) for test in marked_tests() if test.expected_failure
              for item in test.items if item in met]
    assert not hidden, f"expected failures marked with items docs/SECURITY.md says are met: {hidden}"
