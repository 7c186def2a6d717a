"""Trials: the unit of work a study expands into, and what running one produces.

A :class:`Trial` is a small, immutable description of one training run: the study it
belongs to, its kind (:mod:`sparsernn.registry`), its parent (the trial whose output it
starts from, if any) and its :class:`TrialSpec`, the typed settings that say everything
needed to run it. Its id is a hash of its content (:func:`~sparsernn.ids.content_id`),
so running the same study again finds the same trials and skips the finished ones.

A spec's JSON (:meth:`TrialSpec.to_json`) is what the id hashes and what the results
database stores, so it must stay byte-stable: a spec never gains, loses or renames a
field that trials were stored with (a new optional field that is left out of the JSON
while unset keeps every old id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict, model_serializer
from torch import nn

from .. import registry
from ..checkpoint import save_checkpoint
from ..data import DatasetSplits, Vocabulary
from ..ids import configuration_id, content_id, flatten
from ..seeding import derive_seed
from ..tasks import Task, model_io, task_of, vocabulary_of
from ..train import Split, encode_splits
from .config import DataConfig

__all__ = ["SpecModel", "Trial", "TrialData", "TrialResult", "TrialSpec", "checkpoint_path", "configuration_id",
           "content_id", "prepare_data", "save_trial_model", "trial_data"]


class SpecModel(BaseModel):
    """Base of trial specs and of their parts: frozen, strict about keys, and byte-stable.

    Fields named in ``omit_if_none`` are left out of the JSON while they are None, so
    that adding such a field keeps the ids of trials stored before it existed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    omit_if_none: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler):
        data = handler(self)
        for name in self.omit_if_none:
            if data.get(name, 0) is None:
                del data[name]
        return data


class TrialSpec(SpecModel):
    """The settings of one trial; each kind subclasses it (``ClassifierSpec``,
    ``PruningSpec``, ``StructureSpec``, ...)."""

    seed: int
    sweep: tuple[str, ...] | None = None  # the settings its study sweeps (StudyConfig.sweep), if any

    def to_json(self) -> dict:
        """The spec as plain JSON values: what the trial's id hashes and the database stores
        (``sweep`` only where a study sweeps settings, so other trials keep their ids)."""
        data = self.model_dump(mode="json")
        if data.get("sweep", 0) is None:
            del data["sweep"]
        return data


@dataclass
class TrialResult:
    """What running a trial produced; the driver stores it."""

    status: str
    epochs: list[dict] = field(default_factory=list)
    artefacts: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    environment: dict | None = None  # where it ran, if not in the driver's process


@dataclass(frozen=True)
class Trial:
    """One unit of work of study ``study``: ``spec`` holds everything needed to run it.

    ``save_model`` says whether the trial keeps its trained model (its study's
    ``save_models``, and always for a trial other trials start from); ``batched`` whether
    it may train together with others of its kind (e.g. a pruning study's
    ``batch_children``). Like the device it runs on, neither is part of the trial's id.
    """

    study: str
    kind: str
    spec: TrialSpec = field(hash=False)
    parent: str | None = None
    save_model: bool = field(default=True, compare=False)
    batched: bool = field(default=False, compare=False)

    @cached_property
    def config(self) -> dict:
        """The spec's JSON (:meth:`TrialSpec.to_json`)."""
        return self.spec.to_json()

    @cached_property
    def id(self) -> str:
        return content_id({"study": self.study, "kind": self.kind, "parent": self.parent, **self.config})

    @property
    def configuration(self) -> str:
        """The label of this trial's settings except its seed (:func:`~sparsernn.ids.configuration_id`)."""
        return configuration_id(self.kind, self.config)

    @property
    def seed(self) -> int:
        return self.spec.seed

    def describe(self) -> str:
        """A short human-readable label (the kind's ``describe``; else its cell and seed),
        followed by the values of the settings its study sweeps."""
        describe = registry.get(self.kind).describe
        label = describe(self) if describe is not None else f"{getattr(self.spec, 'cell', self.kind)} seed={self.seed}"
        if self.spec.sweep:
            flat = flatten(self.config)
            label += "".join(f" {key}={flat.get(key)}" for key in self.spec.sweep)
        return label

    def record(self) -> dict:
        """The row the results database keeps for this trial."""
        return {"run_id": self.id, "study": self.study, "kind": self.kind, "parent": self.parent,
                "config": self.config}


def trial_data(spec: TrialSpec) -> DatasetSplits:
    """The dataset of a spec with a ``data`` field (:class:`~sparsernn.studies.config.DataConfig`),
    split with ``data.seed`` or else with a seed derived from the trial's seed."""
    data: DataConfig = spec.data
    return data.load(seed=data.seed if data.seed is not None else derive_seed(spec.seed, "data"))


class TrialData(NamedTuple):
    """A trial's dataset made ready to train on (:func:`prepare_data`)."""

    splits: DatasetSplits
    vocab: Vocabulary | None  # None for real-valued inputs
    io: dict  # the model's input and output settings (sparsernn.tasks.model_io)
    task: Task
    train: Split
    test: Split
    validation: Split | None


def prepare_data(spec: TrialSpec) -> TrialData:
    """The trial's dataset (:func:`trial_data`), its vocabulary, task and encoded splits."""
    splits = trial_data(spec)
    vocab = vocabulary_of(splits)
    return TrialData(splits, vocab, model_io(splits, vocab), task_of(splits), *encode_splits(vocab, splits))


def checkpoint_path(trial_id: str) -> str:
    """Where (relative to the output directory) a trial leaves its trained model."""
    return f"checkpoints/{trial_id}.pt"


def save_trial_model(trial: Trial, out: str | Path, model: nn.Module, vocab: Vocabulary | None,
                     splits: DatasetSplits) -> list[dict]:
    """Save ``trial``'s trained model (with its vocabulary, class names and trial id) if the
    trial keeps it (:attr:`Trial.save_model`); return the artefact rows that say where."""
    if not trial.save_model:
        return []
    task = {} if splits.task == "classify" else {"task": splits.task}  # classifiers' files stay as they were
    path = save_checkpoint(Path(out) / checkpoint_path(trial.id), model, vocab, classes=splits.classes,
                           trial_id=trial.id, **task)
    return [{"kind": "checkpoint", "name": "final", "path": str(path.relative_to(out))}]
