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
    negatives: Literal["grammar", "foreign", "mixed"] = "grammar"
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


class StudyConfig(_Config):
    """A study: train every cell with every seed (``kind: dense``)."""

    name: str = Field("study", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["dense"] = "dense"
    cells: list[Cell] = Field(default_factory=lambda: list(CELLS), min_length=1)
    seeds: list[int] = Field(min_length=1, description="Explicit seeds, one trial per seed and cell.")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)

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


def load_study(path: str | Path) -> StudyConfig:
    """Read and validate a study config from a YAML file (safe-loaded)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"Config file {str(path)!r} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Config file {str(path)!r} cannot be read: {exc}.") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise InputError(f"Config file {str(path)!r} is not valid YAML{line}.") from None
    return study_from_dict(data, source=str(path))
