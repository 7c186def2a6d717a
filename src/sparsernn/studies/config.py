"""Study configurations: what to vary and how to train, validated with pydantic.

A study config is a YAML file (safe-loaded) or a dict with the sections ``data``,
``model`` and ``training`` plus the sweep axes ``cells`` and ``seeds``. Unknown keys
are errors; an error names the field path and what was expected.

Every number must be finite: ``inf`` or ``nan`` anywhere in a study (``.inf`` in YAML,
``--set training.lr=.inf``, ``pruning.thresholds: [.nan]``) is refused, naming its key
path. Sizes are bounded, generously for research (the reference thesis uses 25,000
strings of length 11 and more, 3 layers of 50 units, 3 seeds) but far below what would
exhaust memory or never finish; a value above its bound is refused with the bound:

=============================================  ===================================  ========================
setting                                        bound                                constant
=============================================  ===================================  ========================
``data.num_strings``                           10,000,000 strings                   ``MAX_NUM_STRINGS``
``data.min_length``, ``data.max_length``       1,000 symbols (1)                    ``MAX_LENGTH``
``model.embedding_dim``                        10,000 units                         ``MAX_WIDTH``
``model.hidden_sizes``                         100 layers of at most 10,000 units   ``MAX_LAYERS``, ``MAX_WIDTH``
``seeds``                                      10,000 seeds                         ``MAX_SEEDS``
``training.epochs``                            100,000 epochs                       ``train.MAX_EPOCHS``
``training.batch_size``, ``eval_batch_size``   10,000,000 strings (2)               ``train.MAX_BATCH_SIZE``
trials of one study                            1,000,000 trials                     ``MAX_TRIALS``
=============================================  ===================================  ========================

(1) The built-in generators draw lengths exactly from the grammar's counts, which
overflow a float beyond about 1,850 symbols; longer strings are not in reach of the
Reber grammars' random walks anyway. (2) As many as ``data.num_strings`` may be: a
batch never holds more than all the strings. A study kind bounds its own section
(e.g. the vertices of a structure study's graphs, the epochs of a pruning study).

Example
-------
>>> config = StudyConfig(name="demo", seeds=[0], cells=["lstm"])
>>> config.data.dataset, config.model.hidden_sizes, config.training.lr
('reber', [50, 50, 50], 0.001)
"""

from __future__ import annotations

import copy
import itertools
import math
import reprlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer, model_validator

from .. import registry
from ..data import DatasetSplits, dataset_options, dataset_source, list_datasets, load_dataset
from ..errors import InputError
from ..ids import flatten
from ..nn import CELLS
from ..train import TrainingConfig

Cell = Literal["rnn_tanh", "rnn_relu", "lstm", "gru"]

MAX_NUM_STRINGS = 10_000_000
"""Most strings a built-in dataset may generate (``data.num_strings``)."""
MAX_LENGTH = 1_000
"""Longest ``data.min_length`` and ``data.max_length``, in symbols (``B`` and ``E`` included)."""
MAX_WIDTH = 10_000
"""Widest embedding or recurrent layer, in units (``model.embedding_dim``, ``model.hidden_sizes``)."""
MAX_LAYERS = 100
"""Most recurrent layers (entries of ``model.hidden_sizes``)."""
MAX_SEEDS = 10_000
"""Most seeds in a study (``seeds``, and ``sparsernn run --seeds N``)."""
MAX_TRIALS = 1_000_000
"""Most trials one study may expand to (each kind counts its own, see :func:`check_trials`)."""


def check_trials(count: int) -> None:
    """Raise ValueError if a study of ``count`` trials is beyond :data:`MAX_TRIALS`."""
    if count > MAX_TRIALS:
        raise ValueError(f"the study expands to {count:,} trials; expected at most {MAX_TRIALS:,} (MAX_TRIALS): "
                         "fewer seeds, cells or sweep points")


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# DataConfig field -> the dataset builders' parameter it sets
_DATA_OPTIONS = {"test_file": "test_path"}
_NEW_DATA_FIELDS = ("chunk_length", "standardize", "test_file", "split_column")


class DataConfig(_Config):
    """Which data: a built-in dataset (with its settings) or a CSV or ``.npz`` file.

    Each dataset takes some of these settings (``sparsernn datasets`` and
    :func:`~sparsernn.data.dataset_options` list which); the others are ignored
    (:meth:`ignored` names those a config changed, and ``sparsernn run`` says so). Settings
    added later (``chunk_length``, ``standardize``, ``test_file``, ``split_column``) are
    left out of a trial's JSON while null, so trials stored before them keep their ids.
    """

    dataset: str = Field("reber", description="A built-in dataset name or the path of a CSV or .npz file.")
    num_strings: int = Field(25_000, ge=2, le=MAX_NUM_STRINGS,
                             description="Built-in datasets: strings in all splits together (at most 10,000,000).")
    min_length: int = Field(11, ge=1, le=MAX_LENGTH, description="Built-in datasets: shortest string, at most 1,000.")
    max_length: int | None = Field(None, ge=1, le=MAX_LENGTH,
                                   description="Built-in datasets: longest string (null: no limit), at most 1,000.")
    negatives: Literal["grammar", "foreign", "mixed", "thesis"] = "grammar"
    foreign_fraction: float = Field(0.5, ge=0, le=1, description="Share of foreign negatives when mixed.")
    test_fraction: float = Field(0.25, gt=0, lt=1)
    validation_fraction: float = Field(0.0, ge=0, lt=1)
    string_column: str = "string"
    label_column: str = "valid"
    seed: int | None = Field(None, description="Data seed; null derives it from the trial's seed.")
    chunk_length: int | None = Field(None, ge=2, le=100_000, description="Language modelling: characters per "
                                     "training sequence (null: the dataset's default).")
    standardize: bool | None = Field(None, description="Real-valued inputs: standardise each channel with the "
                                     "training split's mean and std (null: the dataset's default, true).")
    test_file: str | None = Field(None, description="CSV or .npz data: a second file, of the same format, that is "
                                  "the test split (instead of a seeded split of the first).")
    split_column: str | None = Field(None, description="CSV data: a column saying each row's split (train, test or "
                                     "validation), instead of a seeded split.")

    @model_serializer(mode="wrap")
    def _omit_new(self, handler):
        data = handler(self)
        for name in _NEW_DATA_FIELDS:
            if data.get(name, 0) is None:
                del data[name]
        return data

    @field_validator("dataset")
    @classmethod
    def _known(cls, dataset: str) -> str:
        if dataset_source(dataset) is None:
            names = [info.name for info in list_datasets()]
            expected = ", ".join(map(repr, names))
            raise ValueError(f"unknown dataset {dataset!r}; expected one of {expected} or the path of a CSV or "
                             ".npz file")
        return dataset

    @model_validator(mode="after")
    def _check(self) -> DataConfig:
        if self.max_length is not None and self.max_length < self.min_length:
            raise ValueError(f"max_length ({self.max_length}) must be >= min_length ({self.min_length})")
        if self.test_fraction + self.validation_fraction >= 1:
            raise ValueError("test_fraction + validation_fraction must be < 1")
        return self

    @property
    def is_file(self) -> bool:
        return dataset_source(self.dataset) in ("csv", "npz")

    def options(self) -> dict:
        """The settings the dataset takes, as :func:`~sparsernn.data.load_dataset` options
        (a null setting is left to the dataset's default)."""
        taken = set(dataset_options(self.dataset))
        options = {}
        for name in type(self).model_fields:
            option = _DATA_OPTIONS.get(name, name)
            if option in taken and getattr(self, name) is not None:
                options[option] = getattr(self, name)
        return options

    def ignored(self) -> list[str]:
        """The settings this config changes from their defaults that its dataset does not take."""
        taken = set(dataset_options(self.dataset))
        fields = type(self).model_fields
        changed = lambda name, info: getattr(self, name) not in (None, info.get_default(call_default_factory=True))  # noqa: E731
        return [name for name, info in fields.items() if name not in ("dataset", "seed")
                and _DATA_OPTIONS.get(name, name) not in taken and changed(name, info)]

    def load(self, seed: int) -> DatasetSplits:
        """Build or read the dataset, split with ``seed``."""
        return load_dataset(self.dataset, seed=seed, **self.options())


class ModelConfig(_Config):
    """The classifier: embedding, recurrent layer widths, readout."""

    embedding_dim: int = Field(50, gt=0, le=MAX_WIDTH, description="Embedding width, at most 10,000.")
    hidden_sizes: list[int] = Field(default_factory=lambda: [50, 50, 50], min_length=1, max_length=MAX_LAYERS,
                                    description="Widths of the recurrent layers: at most 100 layers of at most "
                                                "10,000 units.")
    dropout: float = Field(0.0, ge=0, lt=1)
    readout_mask: bool = True

    @field_validator("hidden_sizes")
    @classmethod
    def _positive(cls, sizes: list[int]) -> list[int]:
        if any(s <= 0 for s in sizes):
            raise ValueError(f"every hidden size must be a positive integer; got {sizes}")
        if any(s > MAX_WIDTH for s in sizes):
            raise ValueError(f"every hidden size must be at most {MAX_WIDTH:,} (MAX_WIDTH); got {sizes}")
        return sizes


def _kind_of(data: dict) -> tuple[object, registry.StudyKind | None]:
    """The kind a raw study mapping names (the default kind if none), and its registered
    kind (None if unknown or not a name)."""
    name = data.get("kind", registry.default_kind().name)
    return name, registry.find(name) if isinstance(name, str) else None


def _prefixed(exc: ValidationError, name: str) -> list[dict]:
    """``exc``'s errors as init details, located under the section ``name``."""
    details = []
    for err in exc.errors():
        detail = {"type": err["type"], "loc": (name, *err["loc"]), "input": err.get("input")}
        if "ctx" in err:
            detail["ctx"] = err["ctx"]
        details.append(detail)
    return details


def _error(loc: tuple, message: str, value: object) -> dict:
    return {"type": "value_error", "loc": loc, "input": value, "ctx": {"error": ValueError(message)}}


def _non_finite(data: object, loc: tuple = ()) -> list[dict]:
    """Errors for the infinite and NaN floats in ``data`` (dicts and lists, nested to any
    depth, walked without recursion, each container once), each located by its key path
    under ``loc``, in document order."""
    errors, stack, seen = [], [(loc, data)], set()
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict | list | tuple):
            if id(value) in seen:  # a YAML alias: walked once, however often it is used
                continue
            seen.add(id(value))
        if isinstance(value, dict):
            keys = [key if isinstance(key, str | int) else str(key) for key in value]
            stack.extend(reversed([((*where, key), item) for key, item in zip(keys, value.values())]))
        elif isinstance(value, list | tuple):
            stack.extend(reversed([((*where, i), item) for i, item in enumerate(value)]))
        elif isinstance(value, float) and not math.isfinite(value):
            errors.append(_error(where, "must be a finite number", value))
    return errors


UNSWEPT = ("name", "kind", "cells", "seeds", "sweep")  # the study's own axes, or not settings


def _flat_sweep(sweep: object) -> dict[str, list]:
    """``sweep`` as ``{dotted key: values}``: nested mappings are joined with dots (so
    ``{training: {lr: [...]}}`` and ``{training.lr: [...]}`` are the same; a later one wins)."""
    if not isinstance(sweep, dict):
        raise ValueError(f"expected a mapping of settings to lists of values, e.g. {{training.lr: [0.001, 0.01]}}; "
                         f"got {_shown(sweep)}")
    flat = flatten(sweep)
    for path, values in flat.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"{path}: expected a non-empty list of values to sweep; got {_shown(values)}")
        if path.split(".")[0] in UNSWEPT:
            raise ValueError(f"{path} cannot be swept ({', '.join(UNSWEPT)} are the study's own axes or names)")
        if path == "training.device" or (path == "training" and any(isinstance(v, dict) and "device" in v
                                                                     for v in values)):
            raise ValueError("training.device cannot be swept: it is no part of a trial's id, so trials on two devices "
                             "would be one trial; run the study once per device instead")
    return flat


def _set_path(data: dict, key: str, value: object, what: str) -> None:
    """Set the dotted ``key`` of the mapping ``data`` to ``value``, making sections as needed."""
    node = data
    *parents, last = key.split(".")
    for i, part in enumerate(parents):
        if not isinstance(node.get(part), dict):
            node[part] = {} if node.get(part) is None else node[part]
            if not isinstance(node[part], dict):
                raise InputError(f"{what} {key}: {'.'.join(parents[: i + 1])} is not a section.")
        node = node[part]
    node[last] = value


class StudyConfig(_Config):
    """A study: the sweep axes ``cells`` and ``seeds``, the ``data``, ``model`` and
    ``training`` settings, and the section of its ``kind``.

    Each kind (:mod:`sparsernn.registry`) names its own section: ``kind: pruning``
    takes a ``pruning:`` section (default settings where it is left out), and a section
    of another kind is an error. The section is the attribute of that name (e.g.
    ``config.pruning``) and :attr:`section`.

    ``save_models`` says which trained models are kept (``final``: every trial's, as
    ``checkpoints/<trial id>.pt`` in the output directory, readable by
    :func:`~sparsernn.checkpoint.load_checkpoint` and ``sparsernn predict``; ``none``:
    only the models other trials start from). It changes no trial id.

    ``sweep`` varies any other setting: ``{training.lr: [0.001, 0.01],
    model.hidden_sizes: [[50, 50, 50], [100, 100, 100]]}`` runs every combination
    (:meth:`points`) with the study's cells and seeds; each trial records the swept keys,
    so its id and its configuration label differ from one combination to the next, and
    summaries keep the combinations apart. A study without ``sweep`` keeps its trial ids.
    """

    model_config = ConfigDict(extra="allow", frozen=True)  # the kind's section; checked below

    name: str = Field("study", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: str = Field(default_factory=lambda: registry.default_kind().name,
                      description="The study kind (sparsernn.registry): what its trials do.")
    cells: list[Cell] = Field(default_factory=lambda: list(CELLS), min_length=1)
    seeds: list[int] = Field(min_length=1, max_length=MAX_SEEDS,
                             description="Explicit seeds, one trial per seed and cell; at most 10,000.")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    sweep: dict[str, list] = Field(default_factory=dict, description="Settings to sweep: dotted key -> values; "
                                   "the study runs every combination (Cartesian product).")
    save_models: Literal["none", "final"] = Field(
        "final", description="Which trained models to keep in checkpoints/<trial id>.pt: 'final' (every trial's, "
        "when its training ends) or 'none' (only those other trials start from, e.g. a pruning study's bases).")

    @model_validator(mode="before")
    @classmethod
    def _sections(cls, data: object) -> object:
        """Refuse non-finite numbers anywhere; validate the kind's section with its model;
        refuse other sections and unknown keys."""
        if not isinstance(data, dict):
            return data
        errors = _non_finite(data)
        if errors:  # reported alone: other checks would only repeat them less clearly
            raise ValidationError.from_exception_data(cls.__name__, errors)
        name, kind = _kind_of(data)
        data, errors = dict(data), []
        for key in [k for k in data if k not in cls.model_fields]:
            other = registry.find(key)
            if kind is not None and key == kind.name and kind.section is not None:
                continue
            if other is not None and other.section is not None:
                if data[key] is None:  # written by earlier versions for the sections a study lacks
                    del data[key]
                elif kind is not None:
                    errors.append(_error((), f"a '{key}' section needs kind: {key} (this study is kind: {name})",
                                         data[key]))
            else:
                errors.append({"type": "extra_forbidden", "loc": (key,), "input": data[key]})
        if kind is not None and kind.section is not None:
            try:
                data[kind.name] = kind.section.model_validate(data.get(kind.name) or {})
                errors += _non_finite(data[kind.name].model_dump(), (kind.name,))  # e.g. a number given as "inf"
            except ValidationError as exc:
                errors += _prefixed(exc, kind.name)
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return data

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, name: str) -> str:
        if registry.find(name) is None:
            known = ", ".join(map(repr, sorted(registry.kinds())))
            raise ValueError(f"unknown study kind {name!r}; expected one of {known}")
        return name

    @field_validator("sweep", mode="before")
    @classmethod
    def _sweep_keys(cls, sweep: object) -> dict[str, list]:
        return {} if sweep is None else _flat_sweep(sweep)

    @model_validator(mode="after")
    def _kind_rules(self) -> StudyConfig:
        validate = registry.get(self.kind).validate
        if validate is not None and not self.sweep:
            validate(self)
        if self.sweep:
            self.points()  # every combination must be a valid study
        return self

    def points(self) -> list[StudyConfig]:
        """The studies of a sweep, one per combination of the ``sweep`` values (the last
        key varying fastest), each without a ``sweep``; without one, ``[self]``.

        Examples
        --------
        >>> study = StudyConfig(seeds=[0], sweep={"training.lr": [0.001, 0.01], "model.hidden_sizes": [[8], [16]]})
        >>> [(p.training.lr, p.model.hidden_sizes) for p in study.points()]
        [(0.001, [8]), (0.001, [16]), (0.01, [8]), (0.01, [16])]
        """
        if not self.sweep:
            return [self]
        count = math.prod(len(values) for values in self.sweep.values())
        check_trials(count * len(self.cells) * len(self.seeds))
        base = self.to_dict(exclude={"sweep"})
        points = []
        for values in itertools.product(*self.sweep.values()):
            data = copy.deepcopy(base)
            for key, value in zip(self.sweep, values):
                _set_path(data, key, value, "sweep")
            shown = ", ".join(f"{key}={_shown(value)}" for key, value in zip(self.sweep, values))
            points.append(study_from_dict(data, source=f"sweep ({shown})"))
        return points

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            kind = None if name.startswith("_") else registry.find(name)
            if kind is not None and kind.section is not None:
                return None  # the section of another kind: this study has none
            raise

    @property
    def section(self) -> BaseModel | None:
        """The settings of the study's kind (its config section), if the kind has one."""
        return (self.model_extra or {}).get(self.kind)

    def to_dict(self, exclude: set[str] | None = None) -> dict:
        """The study as plain JSON values (:func:`study_from_dict` reads it back), its
        ``training.device`` included: a setting of the run that trial specs leave out."""
        data = self.model_dump(mode="json", exclude=exclude)
        if self.training.device is not None and isinstance(data.get("training"), dict):
            data["training"]["device"] = self.training.device
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(exclude={"sweep"} if not self.sweep else None), sort_keys=False)


_REPR = reprlib.Repr()  # nested values shown 3 levels and 8 items deep: never the whole of a YAML alias bomb
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 3, 8, 8, 8, 60, 60


def _shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters; a long list shows its first items and its length."""
    if isinstance(value, list | tuple) and len(value) > 8:
        return f"{_REPR.repr(list(value[:8]))[:-1]}, ...] ({len(value):,} items)"
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
        elif "input" in err and err["type"] not in ("model_type", "too_long") and "got " not in message:
            message += f" (got {_shown(err['input'])})"  # too_long says the count; our own checks say the value
        if isinstance(err.get("input"), list) and err["type"].split("_")[0] in ("float", "int", "string", "bool"):
            message += f"; to run each value, sweep it: sweep.{path}={_shown(err['input'])}"
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
    data = config.to_dict()
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise InputError(f"--set expects key=value (e.g. training.epochs=5); got {item!r}.")
        try:
            value = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError):  # ValueError: e.g. an integer of over 4,300 digits
            raise InputError(f"--set {key}: the value {text!r} is not valid YAML.") from None
        _set_path(data, key, value, "--set")
    return study_from_dict(data, source="--set")


def load_studies(path: str | Path) -> list[StudyConfig]:
    """Read and validate the studies in a YAML file (safe-loaded): one study, or several
    as YAML documents separated by ``---``, each with a name of its own."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"Config file {str(path)!r} does not exist.") from None
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or a NUL in the path
        raise InputError(f"Config file {str(path)!r} cannot be read: {exc}.") from None
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None] or [None]
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: e.g. an integer of over 4,300 digits
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
    (e.g. ``pruning.sparsities=...``) goes to the studies of that kind, any other to all."""
    if len(studies) == 1:
        return [apply_overrides(studies[0], overrides)] if overrides else studies
    section = {item: item.partition("=")[0].split(".")[0] for item in overrides}  # "training", a kind, ...
    sections = {name for name, kind in registry.kinds().items() if kind.section is not None}
    for item, name in section.items():
        if name in sections and not any(s.kind == name for s in studies):
            raise InputError(f"--set {item.partition('=')[0]}: no study here is of kind {name!r}.")
    result = []
    for study in studies:
        mine = [item for item in overrides if section[item] not in sections or section[item] == study.kind]
        result.append(apply_overrides(study, mine) if mine else study)
    return result


def _resolve_paths(data: object, base: Path) -> object:
    """``data`` with the relative paths in its kind's section joined to ``base`` (see
    :attr:`~sparsernn.registry.StudyKind.resolve_paths`): a path written in a config
    file means a file next to it, wherever the command runs."""
    if not isinstance(data, dict):
        return data
    name, kind = _kind_of(data)
    if kind is None or kind.resolve_paths is None or not isinstance(data.get(name), dict):
        return data
    return {**data, name: kind.resolve_paths(data[name], base)}
