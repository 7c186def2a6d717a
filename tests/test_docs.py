"""The docs quote each metric's definition from the code's docstring, word for word."""

import re
from pathlib import Path

import pytest

from sparsernn.analysis import compare, prune_structure, pruning, structure

DOCS = Path(__file__).resolve().parent.parent / "docs"


def definitions(text: str) -> dict[str, str]:
    """``- **name**: definition`` items (continuation lines joined), with RST ``code`` and
    cross-references (``:func:`~x.y` ``) as Markdown code."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"``\1``", text).replace("``", "`")
    items = re.findall(r"^- \*\*(\w+)\*\*(?: of a seed)?: (.*?)(?=^- \*\*|^\s*$|\Z)", text, re.M | re.S)
    return {name: " ".join(body.split()) for name, body in items}


@pytest.mark.parametrize("doc, section, module", [("pruning.md", None, pruning), ("structure.md", None, structure),
                                                  ("compare.md", "## RQ3", compare),
                                                  ("compare.md", "## RQ5", prune_structure)])
def test_docs_quote_the_docstring_definitions(doc, section, module):
    text = (DOCS / doc).read_text(encoding="utf-8")
    if section:  # from the section's heading to the next one of its level
        text = text[text.index(section):]
        end = text.find("\n## ", 1)
        text = text if end < 0 else text[:end]
    code = definitions(module.__doc__)
    written = definitions(text)
    assert code, "the module defines its metrics in its docstring"
    for name, definition in code.items():
        assert written.get(name) == definition, name


def fault_cases() -> set[str]:
    """The case of every ``pytest.mark.fault(...)`` in tests/faults (or of the fuzz suite's
    ``fault(...)`` and ``hostile(...)``, which make one), read from the source."""
    import ast

    cases = set()
    for path in (DOCS.parent / "tests" / "faults").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("pytest.mark.fault", "fault", "hostile") \
                    and node.args and isinstance(node.args[0], ast.Constant):
                cases.add(ast.literal_eval(node.args[0]))
    return cases


def test_reliability_doc_lists_every_fault_case_as_passed():
    """docs/reliability.md is regenerated (scripts/reliability.py) whenever a case is added."""
    text = (DOCS / "reliability.md").read_text(encoding="utf-8")
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in text.splitlines() if line.startswith("| ")}
    cases = fault_cases()
    assert len(cases) >= 20
    for case in cases:
        assert case.replace("|", "\\|") in rows, f"not in docs/reliability.md: {case}"
        assert rows[case.replace("|", "\\|")].endswith("all passed |"), rows[case]
