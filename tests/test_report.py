"""The report: a real study's page opened in headless Chromium, answers that follow the
numbers, partial studies, escaping, and bad input."""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from sparsernn.cli import main
from sparsernn.ids import configuration_id
from sparsernn.report import build_report, collect
from sparsernn.report.answers import rq1, rq2, rq3, rq4
from sparsernn.report.data import StudyData
from sparsernn.report.structure import analyse

ROOT = Path(__file__).resolve().parents[1]
ARTEFACTS = ROOT / "test-artifacts"  # git-ignored; CI keeps what the tests leave here
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
EXTERNAL = re.compile(r"""(?:src|href|action|data|poster)\s*=\s*["']?\s*(?!data:|#)[a-z][a-z0-9+.-]*:|"""
                      r"""(?:src|href)\s*=\s*["']?\s*//|url\(\s*["']?\s*(?!data:)|@import""", re.I)
# Records console errors, failed loads and CSP violations, then the box of every <img>
# and <svg> once the page has loaded, into a <pre id="probe"> that --dump-dom prints.
PROBE = """<script nonce="probe">
window.probeErrors = [];
const note = (m) => window.probeErrors.push(String(m));
const consoleError = console.error;
console.error = (...a) => { note(a.join(' ')); consoleError.apply(console, a); };
window.addEventListener('error', (e) => note(e.message || ('could not load ' + (e.target.src || e.target.tagName))),
                        true);
document.addEventListener('securitypolicyviolation', (e) => note('CSP: ' + e.violatedDirective + ' ' + e.blockedURI));
window.addEventListener('load', () => setTimeout(() => {
  const boxes = [...document.querySelectorAll('img, svg')].map((e) => {
    const r = e.getBoundingClientRect();
    const natural = e.naturalWidth === undefined ? null : e.naturalWidth;
    return {tag: e.tagName, width: r.width, height: r.height, natural: natural};
  });
  const out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({boxes: boxes, errors: window.probeErrors});
  document.body.appendChild(out);
}, 0));
</script>"""

TINY = """\
name: tiny-pruning
kind: pruning
cells: [lstm, gru]
seeds: [0, 1]
data: {num_strings: 200}
model: {embedding_dim: 4, hidden_sizes: [6]}
training: {epochs: 2, lr: 0.01}
pruning: {targets: [both], sparsities: [0.5, 0.9], retrain_epochs: 1}
---
name: tiny-structure
kind: structure
cells: [gru]
seeds: [0]
data: {num_strings: 200}
model: {embedding_dim: 4}
training: {epochs: 2, lr: 0.01}
structure: {generators: [barabasi_albert, watts_strogatz], graphs: 5, sizes: [10, 12], pack: 5}
"""


def _chromium(*args, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=timeout)


def _probe(page: Path, tmp_path: Path) -> dict:
    """Open a copy of ``page`` with :data:`PROBE` allowed by its CSP; what the probe saw."""
    text = page.read_text(encoding="utf-8")
    text = text.replace("default-src 'none';", "default-src 'none'; script-src 'nonce-probe';", 1)
    text = text.replace("<head>", "<head>" + PROBE, 1)
    copy = tmp_path / "probed.html"
    copy.write_text(text, encoding="utf-8")
    result = _chromium("--virtual-time-budget=20000", "--dump-dom", copy.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert found, f"the probe did not report (chromium exit {result.returncode}): {result.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (CI installs it: .ci/run)")
def test_the_report_of_a_real_study_renders_in_chromium(tmp_path, capfd):
    config, out = tmp_path / "tiny.yaml", tmp_path / "out"
    config.write_text(TINY)
    assert main(["run", str(config), "--out", str(out), "--workers", "1"]) == 0
    printed = capfd.readouterr()
    assert "warning" not in printed.err
    page = out / "report.html"
    assert f"report: {page}" in printed.out and "findings: " in printed.out
    assert "# sparsernn run " in (out / "run.yaml").read_text()
    text = page.read_text(encoding="utf-8")
    assert not EXTERNAL.search(text), EXTERNAL.search(text).group(0)
    assert "<script" not in text.lower()
    for anchor in ("answers", "setup", "baselines", "pruning-results", "structure-results", "fig-pruning_accuracy",
                   "fig-recovery_epochs", "max-feasible", "fig-weight_histograms", "fig-retraining_curves",
                   "fig-structure_accuracy", "fig-structure_graphs", "fig-learning_curves"):
        assert f'id="{anchor}"' in text, anchor
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert "pruning_accuracy.svg" in figures and "pruning_accuracy.png" in figures
    seen = _probe(page, tmp_path)
    assert seen["errors"] == []
    assert len(seen["boxes"]) == text.count("<img ") + text.count("<svg") >= 8
    for box in seen["boxes"]:
        assert box["width"] > 0 and box["height"] > 0 and box["natural"] != 0, box
    shot = tmp_path / "report.png"
    _chromium("--window-size=1280,4000", f"--screenshot={shot}", page.as_uri())
    assert shot.stat().st_size > 10_000
    ARTEFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTEFACTS / "report.png")
    shutil.copy(page, ARTEFACTS / "report.html")


def _pruning_tables(final_at_09: float, *, study: str = "s", extra_runs=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fixed two-seed pruning study of one GRU: dense bases reaching 0.98, children at
    levels 0.5 (recovering at once) and 0.9 (ending at ``final_at_09``), as the store
    returns them."""
    runs, epochs = [], []
    for seed in (0, 1):
        base = f"base{seed}"
        runs.append(dict(run_id=base, study=study, kind="dense", parent=None, status="done", seconds=20.0,
                         config=json.dumps({"cell": "gru", "seed": seed, "training": {"epochs": 2}}), error=None))
        epochs += [dict(run_id=base, phase="train", epoch=e, test_acc=a, test_loss=0.1) for e, a in
                   enumerate([0.5, 0.9, 0.98])]
        for level, accs in ((0.5, [0.97, 0.98]), (0.9, [0.5, final_at_09])):
            child = f"child{seed}-{level}"
            spec = {"criterion": "magnitude", "target": "both", "scope": "global", "schedule": "one_shot",
                    "amount": level, "threshold": None}
            runs.append(dict(run_id=child, study=study, kind="pruning", parent=base, status="done", seconds=6.0,
                             config=json.dumps({"cell": "gru", "seed": seed, "pruning": spec}), error=None))
            epochs += [dict(run_id=child, phase="retrain", epoch=e, test_acc=a, test_loss=0.1) for e, a in
                       enumerate(accs)]
    runs = pd.DataFrame([*runs, *extra_runs])
    runs["cell"] = [json.loads(c).get("cell") for c in runs["config"]]
    runs["seed"] = [json.loads(c).get("seed") for c in runs["config"]]
    runs["configuration"] = [configuration_id(k, json.loads(c)) for k, c in zip(runs["kind"], runs["config"])]
    runs["dataset"] = "reber"
    runs["environment"] = None
    for column in ("started", "finished"):
        runs[column] = pd.Timestamp("2026-01-01", tz="UTC")
    epochs = pd.DataFrame(epochs).merge(runs[["run_id", "study", "kind", "cell", "seed", "configuration"]], on="run_id")
    return runs, epochs


NO_ARTEFACTS = pd.DataFrame(columns=["run_id", "kind", "name", "path", "data"])


def _families(best: str, low: float) -> pd.DataFrame:
    """A fixed comparison at one budget: ``best`` at 0.9 [low, 0.95], the other family at 0.8 [0.7, 0.85]."""
    other = "small_dense" if best != "small_dense" else "graph:watts_strogatz"
    return pd.DataFrame({"study": ["c", "c"], "cell": ["lstm", "lstm"], "family": [best, other],
                         "budget": [1000.0, 1000.0], "final_acc": [0.9, 0.8], "final_acc_low": [low, 0.7],
                         "final_acc_high": [0.95, 0.85]})


def test_the_answers_follow_the_numbers():
    recovers, fails = (collect(*_pruning_tables(final), NO_ARTEFACTS) for final in (0.98, 0.7))
    assert "gru 0.9" in rq2(recovers).text and "gru 0.5" in rq2(fails).text
    assert rq1(recovers).text != rq1(fails).text
    assert "was 0.980 after 1 retraining epoch" in rq1(recovers).text
    assert "was 0.700 after 1 retraining epoch" in rq1(fails).text
    assert "recovered 4 of 4" in rq1(recovers).text and "recovered 2 of 4" in rq1(fails).text

    apart = StudyData(pd.DataFrame(), pd.DataFrame(), NO_ARTEFACTS, compare={"families": _families(
        "graph:watts_strogatz", 0.88)})
    overlapping = StudyData(pd.DataFrame(), pd.DataFrame(), NO_ARTEFACTS, compare={"families": _families(
        "small_dense", 0.82)})
    assert "graph:watts_strogatz had the highest mean test accuracy" in rq3(apart).text
    assert "its interval lies above that of small_dense" in rq3(apart).text
    assert "small_dense had the highest mean test accuracy" in rq3(overlapping).text
    assert "its interval overlaps that of graph:watts_strogatz" in rq3(overlapping).text

    graphs = pd.DataFrame({"test_acc": [0.6, 0.7, 0.75, 0.8, 0.9, 0.95], "a": [1, 2, 3, 4, 5, 6],
                           "b": [3, 1, 2, 6, 4, 5]})
    first = rq4(StudyData(pd.DataFrame(), pd.DataFrame(), NO_ARTEFACTS), [("gru", graphs, analyse(graphs, 0))])
    graphs = graphs.assign(a=[6, 1, 5, 2, 4, 3], b=[1, 2, 3, 4, 5, 6])
    second = rq4(StudyData(pd.DataFrame(), pd.DataFrame(), NO_ARTEFACTS), [("gru", graphs, analyse(graphs, 0))])
    assert "most strongly a (ρ = 1.00" in first.text and "most strongly b (ρ = 1.00" in second.text


def test_a_study_without_the_data_leaves_the_questions_open():
    empty = collect(*_pruning_tables(0.98), NO_ARTEFACTS)
    assert rq3(empty).text.startswith("Not answered by this study")
    assert rq4(empty, []).text.startswith("Not answered by this study")


@pytest.mark.slow
def test_a_partial_study_says_what_is_missing_and_escapes_what_it_stores():
    hostile = "<img src=x onerror=alert(1)> costs $5 and $6"
    extra = [dict(run_id="late", study=hostile, kind="pruning", parent="base0", status="pending", seconds=None,
                  config=json.dumps({"cell": "gru", "seed": 0}), error=None),
             dict(run_id="broken", study=hostile, kind="pruning", parent="base1", status="failed", seconds=None,
                  config=json.dumps({"cell": "gru", "seed": 1}), error=f"RuntimeError: {hostile}")]
    data = collect(*_pruning_tables(0.98, study=hostile, extra_runs=extra), NO_ARTEFACTS)
    report = build_report(data, title=f"Report: {hostile}")
    assert hostile not in report.html and html.escape(hostile) in report.html
    assert 'id="missing"' in report.html
    assert "1 of 8 trials has no result yet" in report.html
    assert "1 trial failed or diverged" in report.html and "RuntimeError: " in report.html
    assert len(report.figures) >= 4 and all(f.svg.startswith(b"<?xml") for f in report.figures)


def test_report_refuses_a_missing_or_corrupt_directory(tmp_path, capfd):
    (tmp_path / "results.sqlite").write_text("not a database")
    for directory in (tmp_path / "nothing", tmp_path):
        assert main(["report", str(directory)]) == 2
        err = capfd.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("sparsernn: error: "), err
    assert not (tmp_path / "report.html").exists()


def _imported(path: Path, package: Path) -> set[str]:
    """Every module ``path`` imports (anywhere in it), as absolute dotted names, with each
    ``from X import name`` also as ``X.name``."""
    import ast

    parts = ["sparsernn", *path.relative_to(package).with_suffix("").parts]
    here = parts[:-1]  # the package a relative import starts from (a module's, or an __init__'s own)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - (node.level - 1)] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return found


def test_only_the_command_line_imports_the_report():
    """The report sits above analysis, store and registry: nothing below the command line
    may import it (at module level or inside a function)."""
    package = ROOT / "src" / "sparsernn"
    report = lambda m: m == "sparsernn.report" or m.startswith("sparsernn.report.")  # noqa: E731
    below = [path for path in package.rglob("*.py") if path.parent.name != "report" and path.name != "cli.py"]
    importers = [str(path.relative_to(package)) for path in below if any(map(report, _imported(path, package)))]
    assert not importers
    assert "sparsernn.report" in _imported(package / "cli.py", package)
