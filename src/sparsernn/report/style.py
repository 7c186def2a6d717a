"""One look for every figure of the report, and how a figure becomes SVG and PNG bytes.

Figures are drawn on :class:`matplotlib.figure.Figure` objects directly (never through
``pyplot``: no global figure state, no GUI backend) inside :func:`matplotlib.rc_context`
with :data:`RC`, so a report never changes the caller's matplotlib settings. Colours
come from the Okabe–Ito palette (:data:`PALETTE`), distinguishable with the common
colour-vision deficiencies; sequential maps are ``viridis`` and diverging ones ``PuOr``,
both readable in grey and by colour-blind readers. Every axis is labelled with its unit
(:data:`ACCURACY`, :data:`SPARSITY`, ...); intervals are drawn as bands or error bars.

SVG output is reproducible: no date, a fixed hash salt, text kept as text.

Examples
--------
>>> figure = render("demo", "A line", "A caption.", lambda fig: fig.subplots().plot([0, 1]), size=(3, 2))
>>> figure.svg[:5], figure.png[:4]
(b'<?xml', b'\\x89PNG')
>>> figure.data_uri().startswith("data:image/svg+xml;base64,")
True
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib
from cycler import cycler
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

#: Okabe & Ito (2008), "Color universal design": blue, orange, bluish green, reddish
#: purple, sky blue, vermillion, black, yellow (last: faint on white).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", ":", "-.")
SEQUENTIAL = "viridis"
DIVERGING = "PuOr"
NEUTRAL = "#777777"

ACCURACY = "test accuracy (fraction)"
SPARSITY = "sparsity (fraction of targeted weights removed)"
RECURRENT = "recurrent weights kept (count)"
EPOCH = "epoch"
MAGNITUDE = "weight magnitude |w|"

RC = {
    "font.family": "DejaVu Sans", "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9,
    "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.frameon": False,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
    "grid.linewidth": 0.6, "axes.prop_cycle": cycler(color=PALETTE), "lines.linewidth": 1.6,
    "lines.markersize": 4.5, "image.cmap": SEQUENTIAL, "svg.fonttype": "none", "svg.hashsalt": "sparsernn",
    "figure.dpi": 100, "savefig.dpi": 110,
    "text.parse_math": False,  # study and cell names are drawn as written ("$" is not TeX)
}


def colour(i: int) -> str:
    """The ``i``-th colour of :data:`PALETTE`, cycling."""
    return PALETTE[i % len(PALETTE)]


@dataclass(frozen=True)
class Figure:
    """A rendered figure: ``name`` (its file stem under ``figures/`` and, as
    ``fig-<name>``, its anchor in the page), a title, a caption that says what is drawn,
    and its SVG and PNG bytes."""

    name: str
    title: str
    caption: str
    svg: bytes
    png: bytes
    size: tuple[float, float] = (6.4, 4.8)  # inches

    @property
    def pixels(self) -> tuple[int, int]:
        """Its size on a page, at the PNG's resolution (the page may shrink it to fit)."""
        return round(self.size[0] * RC["savefig.dpi"]), round(self.size[1] * RC["savefig.dpi"])

    @property
    def anchor(self) -> str:
        return f"fig-{self.name}"

    def data_uri(self) -> str:
        """The SVG as a ``data:`` URI, for an ``<img>`` that needs no other file."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")


def _bytes(fig: MplFigure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


def render(name: str, title: str, caption: str, draw: Callable[[MplFigure], object], *,
           size: tuple[float, float]) -> Figure:
    """Draw a figure of ``size`` inches (width, height) with ``draw(fig)`` in the report's
    style and return it as SVG and PNG bytes."""
    with matplotlib.rc_context(RC):
        fig = MplFigure(figsize=size, layout="constrained")
        draw(fig)
        svg = _bytes(fig, "svg")
        fig.set_layout_engine("none")  # keep the layout the SVG got: the PNG needs no second solve
        return Figure(name, title, caption, svg, _bytes(fig, "png"), tuple(size))


def grid(fig: MplFigure, panels: int, *, xlabel: str, ylabel: str, columns: int = 4, sharey: bool = True,
         sharex: bool = False) -> list:
    """``panels`` axes in rows of at most ``columns`` (unused cells of the last row
    hidden), labelled once for the figure: ``xlabel`` below, ``ylabel`` on the left."""
    ncols = max(1, min(columns, panels))
    nrows = -(-panels // ncols)
    axes = fig.subplots(nrows, ncols, sharey=sharey, sharex=sharex, squeeze=False).ravel().tolist()
    for ax in axes[panels:]:
        ax.set_visible(False)
    fig.supxlabel(xlabel, fontsize=RC["axes.labelsize"])
    fig.supylabel(ylabel, fontsize=RC["axes.labelsize"])
    return axes[:panels]


def panel_size(panels: int, *, columns: int = 4, width: float = 2.6, height: float = 2.2,
               extra: float = 0.6, minimum: float = 4.0) -> tuple[float, float]:
    """Figure size for :func:`grid`: ``width`` x ``height`` inches per panel plus room
    (``extra``) for a legend, at least ``minimum`` inches wide."""
    ncols = max(1, min(columns, panels))
    nrows = -(-panels // ncols)
    return (max(minimum, width * ncols), height * nrows + extra)


def band(ax, x, mean, low, high, *, label: str, colour: str, linestyle: str = "-", marker: str = "o") -> None:
    """A line of means with its interval as a translucent band (where it is defined)."""
    ax.plot(x, mean, linestyle=linestyle, marker=marker, color=colour, label=label)
    ax.fill_between(x, low, high, color=colour, alpha=0.18, linewidth=0)


def count_axis(ax) -> None:
    """A log-scale x axis of counts labelled 1,000 / 2,000 / 5,000 (no minor labels)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def style_of(i: int) -> dict:
    """The colour, marker and line style of the ``i``-th of many lines: colours first,
    then markers, then line styles, so no two of the first 32 lines look alike."""
    return {"color": colour(i), "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[(i // len(PALETTE)) % len(LINESTYLES)]}
