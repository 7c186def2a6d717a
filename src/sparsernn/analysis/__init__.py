"""Analyses of stored studies; every function takes DataFrames from :class:`sparsernn.store.Store`."""

from .pruning import pruning_summary, pruning_trials
from .stats import mean_ci
from .structure import TRIAL_COLUMNS, cross_validated_r2, permutation_importances, property_correlations, structure_table

__all__ = [
    "cross_validated_r2", "mean_ci", "permutation_importances", "property_correlations", "pruning_summary",
    "pruning_trials", "structure_table", "TRIAL_COLUMNS",
]
