"""Study configurations: what to vary and how to train, validated with pydantic.

A study config is a YAML file (safe-loaded) or a dict with the sections ``data``,
``model`` and ``training`` plus the sweep axes ``cells`` and ``seeds``. Unknown keys
are errors; an error names the field path and what was expected.

Example
-------
>>> config = StudyConfig(name="demo", seeds=[0], cells=["lstm"])
>>> config.data.dataset, config.model.hidden_sizes, config.training.lr
('reber', [50, 50, 50], 0.001)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..data import DatasetSplits, list_datasets, load_dataset
from ..errors import InputError
from ..nn import CELLS
from ..train import TrainingConfig

Cell = Literal["rnn_tanh", "rnn_relu", "lstm", "gru"]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Config):
    """Which data: a built-in dataset (with its generator's settings) or a CSV file."""

    dataset: str = Field("reber", description="A built-in dataset name or the path of a CSV file.")
    num_strings: int = Field(25_000, ge=2, description="Built-in datasets: strings in all splits together.")
    min_length: int = Field(11, ge=1)
    max_length: int | None = Field(None, ge=1)
    negatives: Literal["grammar", "foreign", "mixed", "thesis"] = "grammar"
    foreign_fraction: float = Field(0.5, ge=0, le=1, description="Share of foreign negatives when mixed.")
    test_fraction: float = Field(0.25, gt=0, lt=1)
    validation_fraction: float = Field(0.0, ge=0, lt=1)
    string_column: str = "string"
    label_column: str = "valid"
    seed: int | None = Field(None, description="Data seed; null derives it from the trial's seed.")

    @field_validator("dataset")
    @classmethod
    def _known(cls, dataset: str) -> str:
        names = [info.name for info in list_datasets()]
        if dataset not in names and not dataset.lower().endswith(".csv") and not Path(dataset).is_file():
            expected = ", ".join(map(repr, names))
            raise ValueError(f"unknown dataset {dataset!r}; expected one of {expected} or the path of a CSV file")
        return dataset

    @model_validator(mode="after")
    def _check(self) -> "DataConfig":
        if self.max_length is not None and self.max_length < self.min_length:
            raise ValueError(f"max_length ({self.max_length}) must be >= min_length ({self.min_length})")
        if self.test_fraction + self.validation_fraction >= 1:
            raise ValueError("test_fraction + validation_fraction must be < 1")
        return self

    @property
    def is_file(self) -> bool:
        return self.dataset not in {info.name for info in list_datasets()} or self.dataset.lower().endswith(".csv")

    def load(self, seed: int) -> DatasetSplits:
        """Build or read the dataset, split with ``seed``."""
        options = dict(test_fraction=self.test_fraction, validation_fraction=self.validation_fraction)
        if self.is_file:
            options.update(string_column=self.string_column, label_column=self.label_column)
        else:
            options.update(
                num_strings=self.num_strings, min_length=self.min_length, max_length=self.max_length,
                negatives=self.negatives, foreign_fraction=self.foreign_fraction,
            )
        return load_dataset(self.dataset, seed=seed, **options)


class ModelConfig(_Config):
    """The classifier: embedding, recurrent layer widths, readout."""

    embedding_dim: int = Field(50, gt=0)
    hidden_sizes: list[int] = Field(default_factory=lambda: [50, 50, 50], min_length=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    readout_mask: bool = True

    @field_validator("hidden_sizes")
    @classmethod
    def _positive(cls, sizes: list[int]) -> list[int]:
        if any(s <= 0 for s in sizes):
            raise ValueError(f"every hidden size must be a positive integer; got {sizes}")
        return sizes


TARGET_NAMES = ("ih", "hh", "hr", "ho", "both")


class IterativeConfig(_Config):
    """Iterative pruning: each round removes ``per_round`` of what remains, then trains."""

    per_round: float = Field(0.2, gt=0, le=1)
    epochs_per_round: int = Field(2, ge=0, description="Training epochs after each round but the last.")
    rewind: bool = Field(False, description="Reset surviving weights to their initial values each round "
                                            "(the lottery-ticket procedure).")


class GradualConfig(_Config):
    """Gradual pruning during retraining along Zhu & Gupta's cubic schedule."""

    initial: float = Field(0.0, ge=0, le=1, description="Sparsity at the first pruning step.")
    start_epoch: int = Field(0, ge=0, description="Retraining epochs before pruning starts.")
    prune_epochs: int = Field(5, ge=1, description="Epochs over which sparsity rises to the amount.")
    frequency: int = Field(50, ge=1, description="Optimiser steps between pruning steps.")


class PruningConfig(_Config):
    """The pruning sweep: every criterion x target x scope x schedule x amount."""

    criteria: list[Literal["magnitude", "random", "threshold"]] = Field(default_factory=lambda: ["magnitude"],
                                                                         min_length=1)
    targets: list[str] = Field(default_factory=lambda: ["both"], min_length=1,
                               description="Each an 'ih', 'hh', 'hr', 'ho', 'both' or a '+'-joined set.")
    scopes: list[Literal["layer", "global"]] = Field(default_factory=lambda: ["global"], min_length=1)
    amounts: list[float] = Field(default_factory=lambda: [round(0.1 * i, 1) for i in range(1, 11)],
                                 min_length=1, description="Fractions of the targeted weights to remove.")
    thresholds: list[float] = Field(default_factory=lambda: [0.01], min_length=1,
                                    description="For the threshold criterion: remove |w| below each.")
    schedules: list[Literal["one_shot", "iterative", "gradual"]] = Field(default_factory=lambda: ["one_shot"],
                                                                         min_length=1)
    retrain_epochs: int = Field(10, ge=0)
    iterative: IterativeConfig = Field(default_factory=IterativeConfig)
    gradual: GradualConfig = Field(default_factory=GradualConfig)
    delta: float = Field(0.01, ge=0, le=1, description="Accuracy within delta of the dense base counts "
                                                        "as recovered.")

    @field_validator("targets")
    @classmethod
    def _targets(cls, targets: list[str]) -> list[str]:
        for target in targets:
            parts = target.split("+")
            if not all(part in TARGET_NAMES for part in parts) or len(set(parts)) != len(parts):
                raise ValueError(f"each target must be one of {', '.join(map(repr, TARGET_NAMES))} "
                                 f"or a '+'-joined set of them; got {target!r}")
        return targets

    @field_validator("amounts")
    @classmethod
    def _amounts(cls, amounts: list[float]) -> list[float]:
        if any(not 0 <= a <= 1 for a in amounts):
            raise ValueError(f"every amount must be a fraction in [0, 1]; got {amounts}")
        return amounts

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, thresholds: list[float]) -> list[float]:
        if any(not t >= 0 for t in thresholds):
            raise ValueError(f"every threshold must be >= 0; got {thresholds}")
        return thresholds

    @model_validator(mode="after")
    def _schedules_fit(self) -> "PruningConfig":
        if "iterative" in self.schedules and self.iterative.per_round < 1 and 1.0 in self.amounts:
            raise ValueError("iterative pruning removes a fraction of what remains and never reaches amount 1.0; "
                             "drop 1.0 from amounts, set iterative.per_round: 1, or run it one_shot")
        if "gradual" in self.schedules and self.gradual.start_epoch + self.gradual.prune_epochs > self.retrain_epochs:
            raise ValueError("gradual.start_epoch + gradual.prune_epochs must be <= retrain_epochs "
                             f"({self.gradual.start_epoch} + {self.gradual.prune_epochs} > {self.retrain_epochs})")
        return self


class StructureConfig(_Config):
    """Graph-structured RNNs: which graphs, how they become networks.

    For every generator, ``graphs`` graphs with seeds ``0 .. graphs-1`` are drawn; each
    has ``n`` vertices drawn uniformly from ``sizes``. Barabási–Albert graphs use
    ``m = max(n // 10, 1)`` and Watts–Strogatz graphs ``k = n // 5``, ``p = 1`` (the
    reference thesis's rules, :func:`sparsernn.graphs.thesis_graph`); ``barabasi_albert``
    grows from ``m`` unconnected vertices as the thesis's networkx 2.4 did,
    ``barabasi_albert_star`` from networkx 3's star. Erdős–Rényi graphs use
    ``erdos_renyi_p``. The same graphs are trained with every cell.

    Each of ``files`` is a graph file (GraphML or edge-list JSON, see
    :func:`sparsernn.graphs.read_graph`) holding one graph: an undirected graph is
    oriented by ``orientation``, a directed one must be acyclic and keeps its edges. A
    study may use generators, files or both (``generators: []`` for files only), but
    needs at least one graph. In a config file a relative path is read from the
    file's directory; given with ``--set`` (or in a dict), from the current directory.
    """

    generators: list[Literal["barabasi_albert", "barabasi_albert_star", "watts_strogatz", "erdos_renyi"]] = Field(
        default_factory=lambda: ["barabasi_albert", "watts_strogatz"])
    files: list[str] = Field(default_factory=list, description="Graph files (GraphML or edge-list JSON), "
                                                               "one graph each.")
    graphs: int = Field(100, ge=1, description="Graphs per generator.")
    sizes: tuple[int, int] = Field((10, 50), description="Vertices n, drawn uniformly from [low, high].")
    erdos_renyi_p: float = Field(0.1, ge=0, le=1)
    orientation: Literal["index", "random"] = "index"
    recurrence: Literal["layer", "self", "none"] = "layer"
    readout: Literal["sinks", "last_layer"] = "sinks"
    pack: int = Field(1, ge=1, description="Generator graphs trained together as one packed network "
                      "(sparsernn.nn.GraphRNNPack): graph seeds in blocks of this size, per generator, cell "
                      "and seed. Each graph trains as it would alone (to float rounding) and several times "
                      "faster; 1 trains each graph alone.")

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, sizes: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= sizes[0] <= sizes[1]:
            raise ValueError(f"sizes must be [low, high] with 1 <= low <= high; got {list(sizes)}")
        return sizes

    @field_validator("files")
    @classmethod
    def _files(cls, files: list[str]) -> list[str]:
        for i, name in enumerate(files):
            if not name.strip():
                raise ValueError(f"every file must be a non-empty path; entry {i} is {name!r}")
            if name in files[:i]:
                raise ValueError(f"{name!r} is listed twice")
        return files

    @model_validator(mode="after")
    def _some_graphs(self) -> "StructureConfig":
        if not self.generators and not self.files:
            raise ValueError("no graphs to train on: give generators, files or both")
        return self


SECTIONS = {"pruning": PruningConfig, "structure": StructureConfig}  # study kind -> its own section


class StudyConfig(_Config):
    """A study: train every cell with every seed (``kind: dense``), then prune copies of
    each trained model and retrain them (``kind: pruning``)."""

    name: str = Field("study", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["dense", "pruning", "structure"] = "dense"
    cells: list[Cell] = Field(default_factory=lambda: list(CELLS), min_length=1)
    seeds: list[int] = Field(min_length=1, description="Explicit seeds, one trial per seed and cell.")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    pruning: PruningConfig | None = Field(None, description="The pruning sweep (kind: pruning only).")
    structure: StructureConfig | None = Field(None, description="The graphs (kind: structure only).")

    @model_validator(mode="before")
    @classmethod
    def _default_section(cls, data: object) -> object:
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind in SECTIONS and data.get(kind) is None:
            data = {**data, kind: {}}
        return data

    @model_validator(mode="after")
    def _kind_matches(self) -> "StudyConfig":
        for section in SECTIONS:
            if self.kind != section and getattr(self, section) is not None:
                raise ValueError(f"a '{section}' section needs kind: {section} (this study is kind: {self.kind})")
        if self.pruning is not None:
            for target in self.pruning.targets:
                parts = target.split("+")
                if "hr" in parts:
                    raise ValueError(f"pruning target {target!r}: the classifier's layers have no 'hr' "
                                     "(LSTM projection) weights")
                if "ho" in parts and not self.model.readout_mask:
                    raise ValueError(f"pruning target {target!r}: 'ho' needs model.readout_mask: true")
        return self

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def format_validation_error(exc: ValidationError, source: str = "config") -> str:
    """One line naming each invalid field by its path and saying what was expected."""
    parts = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        elif err["type"] == "missing":
            message = "required but missing"
        elif "input" in err and err["type"] != "model_type":
            message += f" (got {err['input']!r})"
        parts.append(f"{path}: {message}")
    return f"{source}: " + "; ".join(parts)


def study_from_dict(data: object, source: str = "config") -> StudyConfig:
    """Validate a plain mapping as a :class:`StudyConfig`, raising InputError if invalid."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping of study settings; got {type(data).__name__}.")
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise InputError(format_validation_error(exc, source)) from None


def apply_overrides(config: StudyConfig, overrides: list[str]) -> StudyConfig:
    """Return ``config`` with ``key.path=value`` overrides applied (values parsed as YAML).

    Examples
    --------
    >>> config = apply_overrides(StudyConfig(seeds=[0]), ["training.epochs=2", "cells=[lstm, gru]"])
    >>> config.training.epochs, config.cells
    (2, ['lstm', 'gru'])
    """
    data = config.model_dump(mode="json")
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise InputError(f"--set expects key=value (e.g. training.epochs=5); got {item!r}.")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise InputError(f"--set {key}: the value {text!r} is not valid YAML.") from None
        node = data
        *parents, last = key.split(".")
        for i, part in enumerate(parents):
            if not isinstance(node.get(part), dict):
                node[part] = {} if node.get(part) is None else node[part]
                if not isinstance(node[part], dict):
                    raise InputError(f"--set {key}: {'.'.join(parents[: i + 1])} is not a section.")
            node = node[part]
        node[last] = value
    return study_from_dict(data, source="--set")


def load_studies(path: str | Path) -> list[StudyConfig]:
    """Read and validate the studies in a YAML file (safe-loaded): one study, or several
    as YAML documents separated by ``---``, each with a name of its own."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"Config file {str(path)!r} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Config file {str(path)!r} cannot be read: {exc}.") from None
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None] or [None]
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise InputError(f"Config file {str(path)!r} is not valid YAML{line}.") from None
    where = lambda i: str(path) if len(documents) == 1 else f"{path} (study {i + 1})"
    studies = [study_from_dict(_resolve_paths(d, path.parent), source=where(i)) for i, d in enumerate(documents)]
    return check_distinct_names(studies, str(path))


def load_study(path: str | Path) -> StudyConfig:
    """Read and validate a study config from a YAML file (safe-loaded) holding one study."""
    studies = load_studies(path)
    if len(studies) > 1:
        raise InputError(f"Config file {str(path)!r} holds {len(studies)} studies; expected one.")
    return studies[0]


def check_distinct_names(studies: list[StudyConfig], source: str) -> list[StudyConfig]:
    """``studies``, if their names differ (each names its trials), else InputError."""
    names = [s.name for s in studies]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"{source}: every study needs a name of its own; {', '.join(map(repr, twice))} "
                         "is used more than once.")
    return studies


def apply_overrides_to_all(studies: list[StudyConfig], overrides: list[str]) -> list[StudyConfig]:
    """:func:`apply_overrides` for several studies: an override of a kind's own section
    (``pruning.*``, ``structure.*``) goes to the studies of that kind, any other to all."""
    if len(studies) == 1:
        return [apply_overrides(studies[0], overrides)] if overrides else studies
    section = {item: item.partition("=")[0].split(".")[0] for item in overrides}  # "pruning", "training", ...
    for item, name in section.items():
        if name in SECTIONS and not any(s.kind == name for s in studies):
            raise InputError(f"--set {item.partition('=')[0]}: no study here is of kind {name!r}.")
    result = []
    for study in studies:
        mine = [item for item in overrides if section[item] not in SECTIONS or section[item] == study.kind]
        result.append(apply_overrides(study, mine) if mine else study)
    return result


def _resolve_paths(data: object, base: Path) -> object:
    """``data`` with the relative graph file paths in ``structure.files`` joined to ``base``.

    A path written in a config file means a file next to it, wherever the command runs;
    anything that is not a list of strings is left for validation to report.
    """
    structure = data.get("structure") if isinstance(data, dict) else None
    files = structure.get("files") if isinstance(structure, dict) else None
    if not isinstance(files, list):
        return data
    files = [os.path.abspath(base / f) if isinstance(f, str) and f.strip() and not Path(f).is_absolute() else f
             for f in files]
    return {**data, "structure": {**structure, "files": files}}
