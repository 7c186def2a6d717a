"""The presets named after the reference thesis use the thesis's data and batch sizes."""

import pytest

from sparsernn.data import REBER_ALPHABET
from sparsernn.studies.presets import preset


@pytest.mark.parametrize("name", ["thesis-pruning", "thesis-structure"])
def test_thesis_presets_have_the_thesis_negative_mix(name):
    # The thesis's train_data.csv + test_data.csv: 25,000 strings, 12,500 valid; of the
    # 12,500 invalid ones 5,500 use Reber letters only and 7,000 contain foreign letters.
    splits = preset(name).data.load(seed=0)
    strings, labels = [], []
    for split in (splits.train, splits.test):
        strings += list(split.strings)
        labels += [int(y) for y in split.labels]
    negatives = [s for s, y in zip(strings, labels) if y == 0]
    foreign = [s for s in negatives if set(s) - set(REBER_ALPHABET)]
    assert len(strings) == 25_000 and len(negatives) == 12_500
    assert len(foreign) == 7_000 and len(negatives) - len(foreign) == 5_500


def test_thesis_presets_have_the_thesis_batch_sizes():
    assert preset("thesis-pruning").training.batch_size == 32
    assert preset("thesis-structure").training.batch_size == 128


def test_the_harder_task_presets_run_the_thesis_pruning_protocol_on_other_data():
    from sparsernn.studies import expand

    thesis = preset("thesis-pruning")
    for name, dataset in (("timeseries-pruning", "ucr:JapaneseVowels"), ("lm-pruning", "pydoc-topics")):
        study = preset(name)
        assert study.data.dataset == dataset and study.cells == ["lstm", "gru"] and study.seeds == [0, 1, 2]
        assert study.model == thesis.model
        assert study.section.targets == thesis.section.targets
        assert study.section.sparsities == thesis.section.sparsities
        assert study.data.ignored() == []
        assert len(expand(study)) == 2 * 3 * 31
