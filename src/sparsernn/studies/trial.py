"""Trials: the unit of work a study expands into.

A :class:`Trial` is a small, immutable, JSON-serialisable description of one training
run; its id is a hash of its resolved content, so running the same study again finds
the same trials (and skips the finished ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ids import configuration_id, content_id

__all__ = ["Trial", "configuration_id", "content_id"]


@dataclass(frozen=True)
class Trial:
    """One unit of work: ``config`` holds everything needed to run it."""

    study: str
    kind: str
    config: dict = field(hash=False)
    parent: str | None = None

    @property
    def id(self) -> str:
        return content_id({"study": self.study, "kind": self.kind, "parent": self.parent, **self.config})

    @property
    def configuration(self) -> str:
        """The label of this trial's settings except its seed (:func:`~sparsernn.ids.configuration_id`)."""
        return configuration_id(self.kind, self.config)

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    def describe(self) -> str:
        """A short human-readable label, e.g. ``lstm seed=0``, ``lstm seed=0 magnitude both global 0.5``,
        ``lstm seed=0 barabasi_albert graph=3`` or ``lstm seed=0 file=ring.graphml``."""
        label = f"{self.config.get('cell', self.kind)} seed={self.seed}"
        graph = self.config.get("graph")
        if graph and graph.get("source") == "file":
            label += f" file={graph['name']}"
        elif graph:
            label += f" {graph['generator']} graph={graph['graph_seed']}"
        spec = self.config.get("pruning")
        if spec:
            level = spec["threshold"] if spec["criterion"] == "threshold" else spec["amount"]
            parts = [spec["criterion"], spec["target"], spec["scope"], spec["schedule"], level]
            label += " " + " ".join(str(p) for p in parts if p is not None and p != "one_shot")
        return label

    def record(self) -> dict:
        """The row the results database keeps for this trial."""
        return {"run_id": self.id, "study": self.study, "kind": self.kind, "parent": self.parent,
                "config": self.config}
