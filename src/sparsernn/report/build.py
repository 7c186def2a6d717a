"""Build the report of a results directory and write it: ``report.html`` and ``figures/``.

The page opens with what is missing (for a partial study) and the answers to the
research questions, each linked to its evidence; then the setup, and a section for each
kind of result the directory holds (:mod:`sparsernn.report.data` decides which). The
figures are embedded in the page as SVG ``data:`` URIs and also written as
``figures/<name>.svg`` and ``.png`` next to it, for papers.

``sparsernn run`` records its command line and studies in ``run.yaml`` in the output
directory; the report shows that file's text (escaped, never interpreted).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..store import OutputLock
from .answers import Answer, rq1, rq2, rq3, rq4, rq5
from .data import DELTA, StudyData, load
from .dense import dense_section
from .families import compare_section, prune_structure_section, pruned_graph_points
from .html import Heading, Link, Section, Text, render_page
from .pruning import pruning_section
from .setup import missing_section, setup_section
from .structure import structure_results, structure_section
from .style import Figure

RECORD = "run.yaml"
REPORT = "report.html"
FIGURES = "figures"
MAX_RECORD = 1_000_000  # characters of run.yaml shown


@dataclass(frozen=True)
class Report:
    """A built report: the page, its figures and the answers it gives."""

    html: str
    figures: tuple[Figure, ...]
    answers: tuple[Answer, ...]

    def findings(self, limit: int = 3) -> list[str]:
        """The headline of each answered question (its first sentence if it has none), at
        most ``limit`` of them."""
        return [answer.headline or answer.sentences[0] for answer in self.answers if answer.answered][:limit]


def _anchors(sections: list[Section]) -> set[str]:
    found = {s.anchor for s in sections}
    for section in sections:
        for item in section.items:
            name = getattr(item, "anchor", None)
            if isinstance(name, str):
                found.add(name)
    return found


def answers_section(answers: list[Answer], anchors: set[str]) -> Section:
    """The research questions and their answers, each linked to the figures and tables
    of the page it rests on."""
    items = [Text("Each answer is computed from the tables of this report (sparsernn.report.answers says how); "
                  "intervals are 95 % bootstrap intervals of the mean over seeds (or graphs).", kind="note")]
    for answer in answers:
        items.append(Heading(f"RQ{answer.number}. {answer.question}", anchor=f"rq{answer.number}"))
        links = [Link(label, name) for label, name in answer.evidence if name in anchors]
        parts = [answer.text]
        if answer.answered and links:
            parts.append(" Evidence: ")
            for i, link in enumerate(links):
                parts += [", ", link] if i else [link]
            parts.append(".")
        items.append(Text(*parts, kind="answer" if answer.answered else "unanswered"))
    return Section("answers", "Answers", items)


def build_report(data: StudyData, *, title: str, subtitle: str = "", recorded: str | None = None,
                 running: bool = False) -> Report:
    """The report of ``data``: sections for the results it holds, answers, figures."""
    structure = structure_results(data) if not data.structure.empty else []
    points = pruned_graph_points(data) if not data.prune_structure.empty else None
    results = [s for s in (dense_section(data), pruning_section(data), structure_section(data, structure),
                           compare_section(data), prune_structure_section(data)) if s is not None]
    answers = [rq1(data), rq2(data), rq3(data), rq4(data, structure), rq5(data, points)]
    body = [setup_section(data, recorded=recorded), *results]
    missing = missing_section(data, running=running)
    sections = ([missing] if missing else []) + [answers_section(answers, _anchors(body)), *body]
    figures = tuple(item for s in sections for item in s.items if isinstance(item, Figure))
    return Report(render_page(title, sections, subtitle=subtitle), figures, tuple(answers))


def _title(data: StudyData, directory: str) -> tuple[str, str]:
    studies = list(dict.fromkeys(data.runs["study"]))
    title = "Report: " + (", ".join(studies) if studies else "no trials")
    finished = data.runs["finished"].max() if len(data.runs) else None
    when = f"; results as of {finished:%Y-%m-%d %H:%M} UTC" if finished is not None and finished == finished else ""
    return title, f"{len(data.runs)} trials in {directory}{when}; sparsernn {__version__}."


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path`` (permissions from the umask), then
    rename it over ``path``: a reader sees the old file or the new one, never a part."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def record_run(directory: str | Path, command: str, studies_yaml: str) -> Path:
    """Write ``run.yaml`` in ``directory``: the command line as a comment, then the studies."""
    path = Path(directory) / RECORD
    text = f"# {command}\n# the studies this command ran, every setting spelled out\n{studies_yaml}"
    _write_atomic(path, text.encode("utf-8"))
    return path


def _recorded(directory: Path) -> str | None:
    path = directory / RECORD
    if not path.is_file():
        return None
    with open(path, encoding="utf-8", errors="replace") as file:
        return file.read(MAX_RECORD)


def write_report(directory: str | Path, out: str | Path | None = None, *, delta: float = DELTA,
                 data: StudyData | None = None) -> tuple[Report, Path]:
    """Build the report of the results in ``directory`` (or of ``data``, read from it)
    and write it to ``out`` (default ``directory/report.html``), its figures to
    ``figures/`` next to it. Returns the report and the page's path.

    Side effects: writes the page (atomically: a reader never sees half of it) and the
    figure files; the results database is only read.
    """
    directory = Path(directory)
    data = data if data is not None else load(str(directory), delta=delta)
    path = Path(out) if out is not None else directory / REPORT
    title, subtitle = _title(data, str(directory))
    report = build_report(data, title=title, subtitle=subtitle, recorded=_recorded(directory),
                          running=OutputLock.holder(directory) is not None)
    figures = path.parent / FIGURES
    figures.mkdir(parents=True, exist_ok=True)
    for figure in report.figures:
        _write_atomic(figures / f"{figure.name}.svg", figure.svg)
        _write_atomic(figures / f"{figure.name}.png", figure.png)
    _write_atomic(path, report.html.encode("utf-8"))
    return report, path
