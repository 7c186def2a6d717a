"""Analyses of stored studies; every function takes DataFrames from :class:`sparsernn.store.Store`."""

from .pruning import pruning_summary, pruning_trials
from .settings import mixed_settings, select_study
from .stats import bootstrap_ci, mean_ci, per_seed, wilson_interval
from .structure import (
    TRIAL_COLUMNS, accuracy_summary, cross_validated_r2, permutation_importances, property_correlations,
    structure_table,
)

__all__ = [
    "accuracy_summary", "bootstrap_ci", "cross_validated_r2", "mean_ci", "mixed_settings", "per_seed", "select_study",
    "wilson_interval", "permutation_importances", "property_correlations", "pruning_summary",
    "pruning_trials", "structure_table", "TRIAL_COLUMNS",
]
