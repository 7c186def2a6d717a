"""Studies: configs that expand into trials, run and stored in the results database."""

from .config import (
    DataConfig, ModelConfig, PruningConfig, StudyConfig, apply_overrides, apply_overrides_to_all, load_studies, load_study,
    study_from_dict,
)
from .dense import TrialResult, run_dense_trial
from .presets import PRESETS, preset, preset_studies
from .runner import Reporter, expand, run_study, run_trial
from .trial import Trial

__all__ = [
    "DataConfig", "ModelConfig", "PruningConfig", "apply_overrides", "apply_overrides_to_all", "load_studies",
    "preset_studies", "PRESETS", "Reporter", "StudyConfig", "Trial", "TrialResult",
    "expand", "load_study", "preset", "run_dense_trial", "run_study", "run_trial", "study_from_dict",
]
