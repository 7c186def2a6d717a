"""Analyses of stored studies; every function takes DataFrames from :class:`sparsernn.store.Store`."""

from .pruning import pruning_summary, pruning_trials
from .stats import mean_ci

__all__ = ["mean_ci", "pruning_summary", "pruning_trials"]
