"""The docs quote each metric's definition from the code's docstring, word for word."""

import re
from pathlib import Path

import pytest

from sparsernn.analysis import pruning, structure

DOCS = Path(__file__).resolve().parent.parent / "docs"


def definitions(text: str) -> dict[str, str]:
    """``- **name**: definition`` items (continuation lines joined), with RST ``code`` as Markdown."""
    text = text.replace("``", "`")
    items = re.findall(r"^- \*\*(\w+)\*\*(?: of a seed)?: (.*?)(?=^- \*\*|^\s*$|\Z)", text, re.M | re.S)
    return {name: " ".join(body.split()) for name, body in items}


@pytest.mark.parametrize("doc, module", [("pruning.md", pruning), ("structure.md", structure)])
def test_docs_quote_the_docstring_definitions(doc, module):
    code = definitions(module.__doc__)
    written = definitions((DOCS / doc).read_text(encoding="utf-8"))
    assert code, "the module defines its metrics in its docstring"
    for name, definition in code.items():
        assert written.get(name) == definition, name
