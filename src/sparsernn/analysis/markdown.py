"""Tables as text: one cell format for the terminal, Markdown and the docs.

Examples
--------
>>> import pandas as pd
>>> print(markdown_table(pd.DataFrame({"cell": ["lstm"], "budget": [10000.0], "acc": [0.91234]}), "accuracy"))
### accuracy
<BLANKLINE>
| cell | budget | acc |
|---|---:|---:|
| lstm | 10000 | 0.9123 |
<BLANKLINE>
"""

from __future__ import annotations

import pandas as pd


def cell_text(value) -> str:
    """A table cell: NaN as ``-``, a whole number without exponent (``10000``, not
    ``1e+04``), another float to 4 significant digits, anything else as ``str``.

    >>> cell_text(float("nan")), cell_text(1e4), cell_text(0.123456), cell_text("0.5 [0.4, 0.6]")
    ('-', '10000', '0.1235', '0.5 [0.4, 0.6]')
    """
    if isinstance(value, float):
        if value != value:
            return "-"
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return str(value)


def markdown_table(table: pd.DataFrame, title: str | None = None) -> str:
    """``table`` as a GitHub Markdown table (numeric columns right-aligned, ``|`` escaped
    in cells) ending in a newline, under a ``### title`` heading when one is given."""
    lines = [f"### {title}", ""] if title is not None else []
    lines += ["| " + " | ".join(map(str, table.columns)) + " |",
              "|" + "|".join("---:" if table[c].dtype.kind in "fi" else "---" for c in table.columns) + "|"]
    lines += ["| " + " | ".join(cell_text(v).replace("|", "\\|") for v in row) + " |"
              for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"
