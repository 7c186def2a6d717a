"""Analyses of stored studies; every function takes DataFrames from :class:`sparsernn.store.Store`."""

from .pruning import pruning_summary, pruning_trials
from .settings import mixed_settings, select_columns, select_study
from .stats import bootstrap_ci, mean_ci, per_seed, wilson_interval
from .structure import (
    TRIAL_COLUMNS,
    accuracy_summary,
    analyze_structure,
    cross_validated_r2,
    permutation_importances,
    property_correlations,
    structure_table,
)
from .studies import analyze_studies, progress, summarise_studies, summary_kinds, trials_table

__all__ = [
    "TRIAL_COLUMNS", "accuracy_summary", "analyze_structure", "analyze_studies", "bootstrap_ci", "cross_validated_r2",
    "mean_ci", "mixed_settings", "per_seed", "permutation_importances", "progress", "property_correlations",
    "pruning_summary", "pruning_trials", "select_columns", "select_study", "structure_table", "summarise_studies",
    "summary_kinds", "trials_table", "wilson_interval",
]
