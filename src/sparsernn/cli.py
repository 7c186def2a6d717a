"""The ``sparsernn`` command line.

Every command validates its input before it writes anything. Exit status: 0 done; 2 bad
input, or what the machine refused (a corrupt, foreign or read-only database, the disk
full, out of memory, input nested too deeply): one line on stderr, ``sparsernn: error:
...``, no traceback, and nothing stored before is lost; 3 a run finished with failed
trials (the same command reruns them); 130 Ctrl-C; 143 SIGTERM (both stop the run,
which the same command resumes).
"""

from __future__ import annotations

import math
import os
import shlex
import signal
import sys
import threading
import time
import unicodedata
import warnings
from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__, registry
from .checkpoint import load_checkpoint
from .data import dataset_options, dataset_source, describe_dataset, list_datasets
from .data.csv_file import csv_strings, read_text
from .devices import check_device_name
from .errors import InputError
from .nn import CELLS
from .predict import UNKNOWN
from .predict import predict as predict_strings
from .sample import sample
from .store import OutputLock, Store
from .studies import (
    PRESETS,
    Reporter,
    StudyConfig,
    Trial,
    apply_overrides_to_all,
    load_studies,
    preset_studies,
    run_studies,
    study_from_dict,
)
from .studies.config import MAX_SEEDS
from .studies.executors import EXECUTORS
from .train import MAX_BATCH_SIZE

# Heavy modules (analysis and report: pandas, scipy, sklearn, matplotlib; infer: safetensors) are
# imported by the commands that use them: a worker process imports this module, and --help should be quick.

DEFAULT_OUT = "sparsernn-results"
ISO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # exports' timestamps (UTC)
# Logs and pipes get whole tables, unless COLUMNS says how wide they may be.
# Text we print comes from users (paths, study names, error messages): never read as markup or emoji.
PLAIN = dict(markup=False, emoji=False, highlight=False)
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200, **PLAIN)
err_console = Console(stderr=True, **PLAIN)


class ProgressReporter(Reporter):
    """A live display on a terminal: trials done/total with running and failed counts and
    an ETA, and a bar per running trial. Elsewhere (logs, pipes) one line per finished
    trial. With ``verbose`` every epoch's metrics are printed as well."""

    def __init__(self, verbose: bool = False):
        self.verbose = verbose
        self.live = console.is_terminal
        self.progress: Progress | None = None
        self.bars: dict[str, int] = {}  # running trial id -> its progress bar
        self.running = self.failed = 0
        self.todo = self.finished = 0
        self.began = time.monotonic()
        self.working: float | None = None  # when a worker first reported a batch or a result: start-up is over

    def study_started(self, config: StudyConfig, total: int, todo: int) -> None:
        console.print(f"study {config.name!r}: {_count(total, 'trial')}, {total - todo} already finished, "
                      f"{todo} to run")
        self.todo, self.began = todo, time.monotonic()
        if self.live and todo:
            self.progress = Progress(
                TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("{task.fields[eta]}", markup=False), console=console,
            )
            self.trials = self.progress.add_task("trials", total=todo, eta="")
            self.progress.start()

    def _counts(self) -> None:
        if self.progress:
            failed = f", {self.failed} failed" if self.failed else ""
            starting = "" if self.working is not None else ", workers starting"
            left = time_left(self.finished, self.todo - self.finished, time.monotonic() - (self.working or self.began))
            self.progress.update(self.trials, description=f"trials ({self.running} running{failed}{starting})",
                                 eta="" if left is None else f"about {_duration(left)} left")

    def trial_started(self, trial: Trial) -> None:
        self.running += 1
        self._counts()

    def batch_finished(self, trial: Trial, epoch: int, done: int, total: int) -> None:
        if self.working is None:
            self.working = time.monotonic()
        self._counts()
        if self.progress:  # a bar from a trial's first batch on (a pack reports its first trial's)
            if trial.id not in self.bars:
                self.bars[trial.id] = self.progress.add_task("", total=None, eta="")
            self.progress.update(self.bars[trial.id], description=f"  {trial.describe()} epoch {epoch}",
                                 completed=done, total=total)

    def epoch_finished(self, trial: Trial, row: dict) -> None:
        if self.verbose:
            console.print(
                f"  {trial.describe()} {row['phase']} epoch {row['epoch']}: train_loss={row['train_loss']:.4f} "
                f"train_acc={row['train_acc']:.4f} test_acc={row['test_acc']:.4f} ({row['seconds']:.1f}s)"
            )

    def trial_finished(self, trial: Trial, result) -> None:
        self.running = max(self.running - 1, 0)
        self.failed += result.status == "failed"
        self.finished += 1
        if self.working is None:  # no batches reported (a Ray task sends its epochs with its result)
            self.working = self.began
        if self.progress:
            if trial.id in self.bars:
                self.progress.remove_task(self.bars.pop(trial.id))
            self.progress.advance(self.trials)
            self._counts()
        last = result.epochs[-1] if result.epochs else None
        detail = result.error or (f"test_acc={last['test_acc']:.4f}" if last else "")
        console.print(_printable(f"{trial.describe()}: {result.status} {detail} ({result.seconds:.1f}s)"))

    def close(self) -> None:
        if self.progress:
            self.progress.stop()


def _run(studies: list[StudyConfig], out: str, verbose: bool, report: str | None = None, **execution) -> None:
    """Run ``studies`` into ``out``; with ``report`` (the command line), record it and the
    studies in ``out/run.yaml`` and end with the report (:func:`_report_after_run`)."""
    reporters: list[ProgressReporter] = []
    for study in studies:
        ignored = study.data.ignored()
        if ignored:
            _warn(f"study {study.name!r}: dataset {study.data.dataset!r} does not take "
                  f"{', '.join('data.' + name for name in ignored)}; ignored")

    def reporter(study: StudyConfig) -> ProgressReporter:
        if reporters:
            reporters[-1].close()  # the previous study's display
        reporters.append(ProgressReporter(verbose))
        return reporters[-1]

    try:
        results = run_studies(studies, out, reporters=reporter, **execution)
    finally:
        for each in reporters:
            each.close()
    failed = sum(int((runs["status"] == "failed").sum()) for runs in results)
    for runs in results:
        counts = runs["status"].value_counts().to_dict()
        console.print(f"results in {Path(out) / 'results.sqlite'}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if report is not None:
        _report_after_run(out, report, studies)
    if failed:
        raise TrialsFailed(f"{_count(failed, 'trial')} failed (see the lines above, or "
                           f"'sparsernn results {out}'); run the same command again to rerun them")


def _report_after_run(out: str, command: str, studies: list[StudyConfig]) -> None:
    """Record the run (``run.yaml``), write the report and print its path and main findings.
    A report that cannot be written is a warning: the run's results are stored either way."""
    from .report import record_run, write_report  # matplotlib and sklearn: loaded by the commands that draw

    try:
        record_run(out, command, "---\n".join(study.to_yaml() for study in studies))
        written, path = write_report(out)
    except Exception as exc:  # noqa: BLE001  (any failure: the trials are stored, only the report is missing)
        _warn(f"no report written ({type(exc).__name__}: {exc}); 'sparsernn report {out}' tries again")
        return
    _print_report(written, path)


def _print_report(written, path: Path) -> None:
    console.print(_printable(f"report: {path} ({_count(len(written.figures), 'figure')} also in "
                             f"{path.parent / 'figures'})"))
    findings = written.findings(3)
    if findings:
        console.print(_printable("findings: " + " ".join(findings)), soft_wrap=True)


def _command_line(ctx: click.Context) -> str:
    """The command as typed, rebuilt from the parameters given on the command line (in
    the command's order), quoted for a POSIX shell."""
    parts = ctx.command_path.split()
    for param in ctx.command.params:
        if ctx.get_parameter_source(param.name) is not click.core.ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[param.name]
        if isinstance(param, click.Argument):
            parts.append(str(value))
        elif param.is_flag:
            parts.append(param.opts[0] if value else (param.secondary_opts or param.opts)[0])
        else:
            for each in (value if param.multiple else [value]):
                parts += [param.opts[0], str(each)]
    return shlex.join(parts)


def time_left(finished: int, left: int, seconds: float) -> float | None:
    """Seconds until a run ends, estimated from its pace so far: ``finished`` trials in the
    ``seconds`` since its workers started training, ``left`` trials to go. None before a
    trial has finished. The pace of the whole run, not of its last few trials, so that
    trials finishing together (one per worker, or a pack's members) do not make the end
    look near.

    >>> time_left(finished=4, left=6, seconds=20.0)
    30.0
    """
    return None if finished <= 0 else left * seconds / finished


def _duration(seconds: float) -> str:
    """``"0:42"``, ``"1:02:05"``: seconds rounded up, as a clock."""
    whole = math.ceil(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _count(n: int, noun: str) -> str:
    """``"1 trial"``, ``"2 trials"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or any(s <= 0 for s in sizes):
        raise click.BadParameter(f"expected comma-separated positive integers such as 50,50,50; got {text!r}")
    return sizes


def _device_option(ctx, param, value: str | None) -> str | None:
    try:
        return check_device_name(value)
    except InputError as exc:
        raise click.BadParameter(str(exc)) from None


device_option = click.option(
    "--device", default=None, metavar="auto|cpu|cuda|cuda:N", callback=_device_option,
    help="Where to train (sets training.device): auto (a GPU if there is one, else the CPU), cpu, cuda (with "
         "several GPUs, worker i takes GPU i mod their number) or cuda:N [default: the study's training.device, "
         "else the CPU]. Trial ids and stored settings do not depend on it.")


def _overridden(studies: list[StudyConfig], overrides: list[str], device: str | None) -> list[StudyConfig]:
    """``apply_overrides_to_all``, then each study's ``training.device`` set to ``device``
    (``--device``) if given."""
    studies = apply_overrides_to_all(studies, overrides)
    if device is None:
        return studies
    return [study.model_copy(update={"training": study.training.model_copy(update={"device": device})})
            for study in studies]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sparsernn")
def cli() -> None:
    """Study and use sparse recurrent neural networks."""


@cli.command()
@click.option("--cell", type=click.Choice(CELLS), default="lstm", show_default=True, help="Recurrent cell.")
@click.option("--dataset", default="reber", show_default=True,
              help="A built-in dataset ('sparsernn datasets' lists them) or the path of a CSV or .npz file.")
@click.option("--hidden", default="50,50,50", show_default=True, help="Widths of the recurrent layers.")
@click.option("--embedding", type=int, default=50, show_default=True, help="Embedding width.")
@click.option("--epochs", type=int, default=10, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Learning rate.")
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam", show_default=True)
@click.option("--clip", type=float, default=5.0, show_default=True, help="Max gradient norm (0 disables).")
@click.option("--weight-decay", type=float, default=0.0, show_default=True)
@click.option("--num-strings", type=int, default=25_000, show_default=True,
              help="Generated datasets (reber, embedded-reber, embedded-reber-next) only.")
@click.option("--negatives", type=click.Choice(["grammar", "foreign", "mixed", "thesis"]), default="grammar",
              show_default=True, help="reber and embedded-reber only.")
@click.option("--string-column", default="string", show_default=True, help="CSV files: the strings' column.")
@click.option("--label-column", default="valid", show_default=True, help="CSV files: the labels' column.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Any other setting of the study, e.g. --set data.test_fraction=0.2.")
@device_option
@click.option("--out", default=DEFAULT_OUT, show_default=True, help="Output directory.")
@click.option("-v", "--verbose", is_flag=True, help="Print every epoch's metrics.")
def train(cell, dataset, hidden, embedding, epochs, batch_size, lr, optimizer, clip, weight_decay,
          num_strings, negatives, string_column, label_column, seed, overrides, device, out, verbose) -> None:
    """Train one model and store its metrics in OUT/results.sqlite."""
    data = {"dataset": dataset}
    if dataset_source(dataset) is not None:  # else the config's validation names the problem
        given = dict(num_strings=num_strings, negatives=negatives, string_column=string_column,
                     label_column=label_column)
        data.update({key: value for key, value in given.items() if key in dataset_options(dataset)})
    config = study_from_dict(
        {
            "name": "train", "cells": [cell], "seeds": [seed], "data": data,
            "model": {"embedding_dim": embedding, "hidden_sizes": _parse_sizes(hidden)},
            "training": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": optimizer,
                         "clip": clip or None, "weight_decay": weight_decay},
        },
        source="arguments",
    )
    _run(_overridden([config], list(overrides), device), out, verbose)


@cli.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--preset", "preset_name", type=click.Choice(sorted(PRESETS)), default=None,
              help="Run a built-in study instead of a config file.")
@click.option("--seeds", type=click.IntRange(min=1, max=MAX_SEEDS), default=None,
              help="Use seeds 0..N-1 instead of the study's.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a setting, e.g. --set training.epochs=5 --set 'cells=[lstm, gru]'.")
@click.option("--executor", type=click.Choice(EXECUTORS), default="local", show_default=True,
              help="Where trials run: processes on this machine, or Ray tasks on a cluster.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Trials at once [default: local: one per core, at most one per trial; ray: the cluster's CPUs].")
@click.option("--address", default=None, metavar="HOST:PORT",
              help="The Ray cluster's head, or 'local' to start one for this run (--executor ray).")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Times a trial is rerun when its worker process dies (killed, out of memory).")
@device_option
@click.option("--out", default=DEFAULT_OUT, show_default=True, help="Output directory.")
@click.option("--report/--no-report", default=True, show_default=True,
              help="End by writing OUT/report.html (see 'sparsernn report') and printing the main findings.")
@click.option("-v", "--verbose", is_flag=True, help="Print every epoch's metrics.")
@click.pass_context
def run(ctx, config, preset_name, seeds, overrides, executor, workers, address, retries, device, out, report,
        verbose) -> None:
    """Run the studies in CONFIG (YAML); without one, the built-in 'quick' studies.

    A config file holds one study, or several as YAML documents separated by '---';
    they run one after the other into the same OUT/results.sqlite.
    """
    if config and preset_name:
        raise InputError("Give either a CONFIG file or --preset, not both.")
    studies = load_studies(config) if config else preset_studies(preset_name or "quick")
    if seeds is not None:
        overrides = (*overrides, f"seeds={list(range(seeds))}")
    studies = _overridden(studies, list(overrides), device)
    if executor == "ray" and not address:
        raise InputError("--executor ray needs --address HOST:PORT (a running cluster's head) or --address local.")
    if executor == "local" and address:
        raise InputError("--address is for --executor ray.")
    _run(studies, out, verbose, report=_command_line(ctx) if report else None, workers=workers, executor=executor,
         address=address, retries=retries)


HEADERS = {"configuration": "config"}  # shorter headers for the terminal; Markdown and CSV keep the names


def _header(column: str) -> str:
    return HEADERS.get(column, column.removesuffix("_seeds"))


def _print_frame(df, title: str) -> None:
    """A table that folds long cells instead of cutting them, so it stays readable (and
    its headers distinct) in an 80-column terminal; ``*_seeds`` columns (per-seed values)
    are headed by their metric's name."""
    from .analysis.markdown import cell_text

    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), title_justify="left")
    cells = [[cell_text(v) for v in df[column]] for column in df.columns]
    for column, values in zip(df.columns, cells):
        numeric = df[column].dtype.kind in "fi"
        widest = max([len(_header(column)), *map(len, values)])
        table.add_column(_header(column), justify="right" if numeric else "left", overflow="fold",
                         min_width=min(widest, 8))
    for row in zip(*cells):
        table.add_row(*row)
    console.print(table)


def _reader(directory: str) -> Store:
    """The results database in ``directory``, opened read-only, refused if corrupt."""
    store = Store(directory, readonly=True)
    try:
        store.quick_check()
    except InputError:
        store.close()
        raise
    return store


def _read_runs(store: Store, study: str | None, where: str):
    """The trials of ``study`` (or all), after warning about studies that mix settings."""
    from .analysis import mixed_settings, select_study

    runs = select_study(store.runs(), study, where)
    for message in mixed_settings(runs):
        _warn(message)
    return runs


def _check_export(*paths: str | None) -> None:
    """Refuse, before reading anything, an export path whose directory is missing."""
    for path in paths:
        if path and path != "-" and not Path(path).absolute().parent.is_dir():
            raise InputError(f"cannot write {path!r}: the directory {str(Path(path).parent)!r} does not exist.")


def _write(path: str, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")
    console.print(f"wrote {path}", markup=False, highlight=False)


RUN_COLUMNS = ["run", "study", "kind", "cell", "seed", "configuration", "status", "test_acc"]


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--study", default=None, help="Only the trials of this study.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write one row per (trial, epoch) here ('-': standard output).")
@click.option("--parquet", "parquet_path", type=click.Path(dir_okay=False),
              help="The same rows as Parquet (needs pyarrow: pip install 'sparsernn[parquet]').")
@click.option("--summary", type=click.Choice(["runs", *registry.summary_kinds()]), default="runs", show_default=True,
              help="Which summary to print: one row per trial, or a study kind's own summary.")
@click.option("--delta", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="Pruning summary: accuracy within delta of the dense base counts as recovered.")
@click.option("--columns", default=None, metavar="A,B,...",
              help="The columns to show (default: a set that fits 80 columns); the trials table also has "
                   "target, target_sparsity, model_sparsity, phase, epoch, params, seconds, dataset, settings.")
@click.option("--markdown", type=click.Path(dir_okay=False), help="Also write the summary tables as Markdown.")
@click.option("--tensorboard", "tensorboard_dir", type=click.Path(file_okay=False), metavar="LOGDIR",
              help="Write every trial's epochs and settings as TensorBoard runs under LOGDIR "
                   "(needs tensorboard: pip install 'sparsernn[tensorboard]').")
def results(directory, study, csv_path, parquet_path, summary, delta, columns, markdown, tensorboard_dir) -> None:
    """Summarise the trials stored in DIRECTORY, or export them as CSV, Parquet or TensorBoard runs.

    Trials are grouped by study and configuration (every setting but the seed), so
    trials with different settings are never pooled as seeds.
    """
    from .analysis import select_columns, summarise_studies, trials_table
    from .analysis.markdown import markdown_table
    from .analysis.tensorboard import write_tensorboard

    if parquet_path:
        try:
            import pyarrow  # noqa: F401  (pandas writes Parquet with it)
        except ImportError:
            raise InputError("--parquet needs pyarrow: pip install 'sparsernn[parquet]'.") from None
    _check_export(csv_path, parquet_path, markdown)
    with _reader(directory) as store:
        runs = _read_runs(store, study, repr(directory))
        epochs = store.epochs()
        artefacts = store.artefacts() if summary != "runs" else None
    epochs = epochs[epochs["run_id"].isin(runs["run_id"])]
    if tensorboard_dir:
        count = write_tensorboard(runs, epochs, tensorboard_dir)
        console.print(f"wrote {_count(count, 'trial')} to {tensorboard_dir} (tensorboard --logdir {tensorboard_dir})")
    if csv_path or parquet_path or tensorboard_dir:
        for path, write in ((csv_path, lambda p: epochs.to_csv(p, index=False, date_format=ISO_TIME)),
                            (parquet_path, lambda p: epochs.to_parquet(p, index=False))):
            if path == "-":  # standard output: the rows only
                epochs.to_csv(sys.stdout, index=False, date_format=ISO_TIME)
            elif path:
                write(path)
                console.print(f"wrote {len(epochs)} rows to {path}", markup=False, highlight=False)
        return
    if summary != "runs":
        parts, extras = summarise_studies(runs, epochs, summary, delta=delta, columns=columns,
                                          markdown=bool(markdown), artefacts=artefacts)
        for df, title in parts:
            _print_frame(df, title)
        if markdown:
            _write(markdown, "\n".join(markdown_table(df, title) for df, title in parts + extras))
        return
    table = trials_table(runs, epochs)
    shown = table[select_columns(table, RUN_COLUMNS, columns)]
    _print_frame(shown, f"trials in {directory}")
    if markdown:
        _write(markdown, markdown_table(shown, f"trials in {directory}"))


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True, help="k of repeated k-fold CV.")
@click.option("--repeats", type=click.IntRange(min=1), default=10, show_default=True, help="CV repetitions.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the CV splits and the forests.")
@click.option("--csv-dir", type=click.Path(file_okay=False), help="Also write the tables as CSV files here.")
@click.option("--markdown", type=click.Path(dir_okay=False), help="Also write the tables as Markdown.")
@click.option("--per-generator", is_flag=True,
              help="Analyse each generator's graphs on their own (else all graphs of a cell together).")
@click.option("--by", "by", multiple=True, metavar="PROPERTY",
              help="Also tabulate test accuracy per value of this graph property (e.g. dag_sources).")
@click.option("--study", default=None, help="Only the trials of this study.")
def analyze(directory, folds, repeats, seed, csv_dir, markdown, per_generator, by, study) -> None:
    """Test accuracy per generator, correlations of graph properties with it, and
    cross-validated regressions, per study and cell."""
    from .analysis import analyze_studies
    from .analysis.markdown import markdown_table

    _check_export(markdown)
    with _reader(directory) as store:
        runs = _read_runs(store, study, repr(directory))
        parts, outputs = analyze_studies(runs, store.epochs(), store.artefacts(), folds=folds, repeats=repeats,
                                         seed=seed, per_generator=per_generator, by=by)
    terse = {"pearson_p", "spearman_p", "median", "min", "max"}  # in the CSV and Markdown tables
    for df, title in parts:
        _print_frame(df[[c for c in df.columns if c not in terse]], title)
    if csv_dir:
        Path(csv_dir).mkdir(parents=True, exist_ok=True)
        for name, df in outputs.items():
            df.to_csv(Path(csv_dir) / f"{name}.csv", index=False)
        console.print(f"wrote {len(outputs)} tables to {csv_dir}")
    if markdown:
        _write(markdown, "\n".join(markdown_table(df, title) for df, title in parts))


@cli.command("report")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="The page to write [default: DIRECTORY/report.html]; its figures go to figures/ next to it.")
@click.option("--delta", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="Accuracy within delta of the dense base counts as recovered.")
def report_command(directory, out, delta) -> None:
    """Write the report of the studies in DIRECTORY: one self-contained HTML page (figures
    embedded, no network needed) that answers the research questions from the stored
    results, and its figures as SVG and PNG files. The database is only read."""
    from .report import collect, write_report  # matplotlib and sklearn: loaded by the commands that draw

    _check_export(out)
    with _reader(directory) as store:
        runs, epochs, artefacts = store.runs(), store.epochs(), store.artefacts()
    if runs.empty:
        raise InputError(f"No trials in {directory!r} to report on.")
    written, path = write_report(directory, out, delta=delta, data=collect(runs, epochs, artefacts, delta=delta))
    _print_report(written, path)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--study", default=None, help="Only the trials of this study.")
def status(directory, study) -> None:
    """Show how far the studies stored in DIRECTORY have got. Trials left ``running`` by a
    run that has ended (killed, interrupted) show as ``interrupted``; the same run command
    resumes them."""
    from .analysis import progress

    with _reader(directory) as store:
        runs = _read_runs(store, study, repr(directory))
    if runs.empty:
        console.print(f"no trials in {directory}")
        return
    holder = OutputLock.holder(directory)
    if holder is None:  # no run holds the directory: its running trials were interrupted
        runs.loc[runs["status"] == "running", "status"] = "interrupted"
    counts, left = progress(runs)
    _print_frame(counts, f"trials in {directory}")
    if holder:
        console.print(f"a run is in progress: {holder}")
    if left is not None:
        console.print(f"{_count(left[0], 'trial')} left: about {left[1] / 3600:.1f} h of one worker "
                      "(from the mean time of finished trials of each kind)")


@cli.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--input", "input_path", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="The strings to classify: a text file with one per line, a CSV file (see --csv), or - for "
                   "standard input.")
@click.option("--csv/--lines", "as_csv", default=None,
              help="Read the input as CSV with a header row (default: when its name ends in .csv) or as lines.")
@click.option("--string-column", default="string", show_default=True, help="CSV input: the strings' column.")
@click.option("--output", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write the predictions (CSV: string, label, p_<class>...); - for standard output.")
@click.option("--unknown", type=click.Choice(UNKNOWN), default="error", show_default=True,
              help="A symbol the model's vocabulary does not know: refuse the input, or read it as <unk>.")
@click.option("--batch-size", type=click.IntRange(min=1, max=MAX_BATCH_SIZE), default=1024, show_default=True,
              help="Strings per forward pass.")
def predict(checkpoint, input_path, as_csv, string_column, output, unknown, batch_size) -> None:
    """Classify strings with the model saved in CHECKPOINT (a study saves each trial's as
    OUT/checkpoints/<trial id>.pt; see 'sparsernn results OUT' for the ids), or in a model
    file written by 'sparsernn export' (run with sparse kernels)."""
    from .infer import is_exported
    from .infer import load as load_exported

    _check_export(None if output == "-" else output)
    saved = load_exported(checkpoint) if is_exported(checkpoint) else load_checkpoint(checkpoint)
    name = "standard input" if input_path == "-" else input_path
    text = read_text(input_path)
    if as_csv if as_csv is not None else input_path.lower().endswith(".csv"):
        rows = csv_strings(text, name, string_column=string_column)
    else:
        rows = [(i, line.strip()) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if not rows:
            raise InputError(f"{name}: no strings to classify (one per line).")
    table = predict_strings(saved, [s for _, s in rows], unknown=unknown, batch_size=batch_size,
                            names=[f"{name}, line {line}" for line, _ in rows])
    result = table.to_csv(index=False, float_format="%.6f", lineterminator="\n")
    if output == "-":
        click.echo(result, nl=False)
    else:
        _write(output, result)


@cli.command("sample")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--length", type=click.IntRange(min=0, max=1_000_000), default=500, show_default=True,
              help="Characters to generate.")
@click.option("--temperature", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Divides the logits: 1 samples the model's distribution, lower is more conservative, 0 greedy.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--prompt", default=None, help="Text to start from [default: a newline].")
def sample_text(checkpoint, length, temperature, seed, prompt) -> None:
    """Generate text with the character-level language model saved in CHECKPOINT (a trial
    of a study on a language-modelling dataset such as pydoc-topics)."""
    click.echo(sample(load_checkpoint(checkpoint), length=length, temperature=temperature, seed=seed,
                      prompt=prompt))


@cli.command("export")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The model file to write (safetensors; e.g. model.safetensors).")
def export(checkpoint, out) -> None:
    """Write the model saved in CHECKPOINT as a compact model file: each masked weight
    matrix as CSR (int32 indices) or bitmask + values, whichever is smaller, in a
    safetensors file that 'sparsernn predict' and sparsernn.infer.load read and run with
    sparse kernels."""
    from .infer import export as export_model

    written = export_model(load_checkpoint(checkpoint), out)
    console.print(f"wrote {out}: {_bytes(written.file_bytes)} (dense fp32: {_bytes(written.dense_bytes)}, "
                  f"{written.ratio:.2f}x)")


def _bytes(n: int) -> str:
    """A file size in decimal units: 812 B, 3.4 kB, 0.41 MB, 1.20 GB."""
    if n < 1000:
        return f"{n} B"
    if n < 100_000:
        return f"{n / 1e3:.1f} kB"
    return f"{n / 1e6:.2f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


@cli.group()
def config() -> None:
    """Inspect study configs."""


@config.command("show")
@click.argument("name", type=click.Choice(sorted(PRESETS)))
def config_show(name) -> None:
    """Print the preset NAME as YAML, every setting spelled out, to start a config from
    (several studies as documents separated by '---')."""
    click.echo("---\n".join(study.to_yaml() for study in preset_studies(name)), nl=False)


@cli.command()
def datasets() -> None:
    """List the built-in datasets: task, inputs, sizes (with their default settings), lengths, source."""
    table = Table(title="built-in datasets (or the path of a CSV file of strings or an .npz file of sequences; "
                        "see the README)")
    for column in ("name", "task", "inputs", "classes", "train", "val", "test", "length min/median/max", "source"):
        table.add_column(column, justify="right" if column in ("classes", "train", "val", "test") else "left")
    show = lambda value: "-" if value is None else f"{value:,}"  # noqa: E731
    for info in list_datasets():
        row = describe_dataset(info.name)
        lengths = "-" if row["lengths"] is None else "{} / {:g} / {}".format(*row["lengths"])
        source = info.source if info.installed else \
            f"{info.source}; not installed: pip install 'sparsernn[{info.extra}]'"
        table.add_row(info.name, info.task, info.inputs, show(row["classes"]), show(row["train"]),
                      show(row["validation"]), show(row["test"]), lengths, source)
    console.print(table)


class TrialsFailed(Exception):
    """A run ended with failed trials (exit status 3)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch scheduler, ``timeout``, ``kill``): stop as Ctrl-C stops."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (e.g. a config key under its old name) as one line each on stderr."""
    _warn(str(message))


def _warn(message: str) -> None:
    err_console.print(_printable(f"sparsernn: warning: {message}"), markup=False, highlight=False, soft_wrap=True)


def _printable(text: str) -> str:
    """``text`` on one line with control characters escaped (``\\x1b``), so a message
    quoting user input can neither break the line nor move the terminal's cursor."""
    text = text.replace("\n", " ")
    return "".join(c.encode("unicode_escape").decode() if unicodedata.category(c) == "Cc" else c for c in text)


def _error(message: str) -> int:
    """Print ``message`` as the one line of a failed command; its exit status, 2."""
    err_console.print(_printable(f"sparsernn: error: {message}"), markup=False, highlight=False, soft_wrap=True)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning bad input into one line and exit status 2."""
    if not (sys.argv[1:] if argv is None else argv):
        argv = ["--help"]
    warnings.showwarning = _show_warning
    before = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        cli.main(args=argv, prog_name="sparsernn", standalone_mode=False)
    except (InputError, click.ClickException) as exc:
        return _error(exc.format_message() if isinstance(exc, click.ClickException) else str(exc))
    except RecursionError:
        return _error("the input is nested too deeply (a config, --set value or graph file)")
    except MemoryError:
        return _error("out of memory: the study, data or model is too large for this machine")
    except OSError as exc:  # e.g. the disk full while writing a checkpoint or an export
        return _error(f"{exc.strerror or exc}" + (f": {exc.filename!r}" if exc.filename else ""))
    except TrialsFailed as exc:
        err_console.print(_printable(f"sparsernn: {exc}"), markup=False, highlight=False, soft_wrap=True)
        return 3
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:  # click turns Ctrl-C into Abort
        cause = exc if isinstance(exc, KeyboardInterrupt) else exc.__cause__
        if not isinstance(cause, KeyboardInterrupt):  # e.g. end of input at a prompt
            err_console.print("sparsernn: interrupted", markup=False)
            return 130
        how = "terminated" if isinstance(cause, Terminated) else "interrupted"
        err_console.print(f"sparsernn: {how}; run the same command again to resume", markup=False)
        return 143 if isinstance(cause, Terminated) else 130
    finally:
        if before is not None:
            signal.signal(signal.SIGTERM, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
