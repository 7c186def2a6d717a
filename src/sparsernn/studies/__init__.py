"""Studies: configs that expand into trials, run and stored in the results database.

Layers, each importing only those before it: ``config`` (StudyConfig) ← ``trial``
(Trial, TrialSpec, TrialResult) ← ``kinds/*`` (one module per study kind, registered
in :mod:`sparsernn.registry`) ← ``units`` (run one trial or pack) ← ``executors``
(inline, local processes, Ray) ← ``runner`` (run_study, run_studies, schedule).
"""

from .config import (
    DataConfig,
    ModelConfig,
    StudyConfig,
    apply_overrides,
    apply_overrides_to_all,
    load_studies,
    load_study,
    study_from_dict,
)
from .presets import PRESETS, preset, preset_studies
from .runner import check_study, expand, run_studies, run_study, schedule
from .trial import Trial, TrialResult, TrialSpec
from .units import Reporter, run_trial, run_unit, units

__all__ = [
    "DataConfig", "ModelConfig", "apply_overrides", "apply_overrides_to_all", "check_study", "load_studies",
    "preset_studies", "PRESETS", "Reporter", "StudyConfig", "Trial", "TrialResult", "TrialSpec",
    "expand", "load_study", "preset", "run_studies", "run_study", "run_trial", "run_unit", "schedule",
    "study_from_dict", "units",
]
