"""Masks in and out of torch.nn.utils.prune's '<name>_mask' convention."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from sparsernn.errors import InputError
from sparsernn.nn import MaskedLSTM, SequenceClassifier, masked_weights
from sparsernn.prune import export_masks, import_masks, magnitude, random


def classifier(seed=0):
    torch.manual_seed(seed)
    return SequenceClassifier("lstm", vocab_size=6, hidden_sizes=(4, 3), embedding_dim=3)


def masks_of(model):
    return {r.name: r.mask.clone() for r in masked_weights(model)}


def test_export_keys_dtype_and_values():
    model = classifier()
    magnitude(model, 0.5, targets=("ih", "ho"))
    exported = export_masks(model)
    assert list(exported) == [
        "layers.0.weight_ih_l0_mask", "layers.0.weight_hh_l0_mask",
        "layers.1.weight_ih_l0_mask", "layers.1.weight_hh_l0_mask", "readout.weight_mask",
    ]
    for r in masked_weights(model):
        value = exported[r.name + "_mask"]
        assert value.dtype == r.weight.dtype and value.shape == r.weight.shape
        assert torch.equal(value, r.mask.float())
    assert list(export_masks(model, targets="ho")) == ["readout.weight_mask"]
    exported["readout.weight_mask"].zero_()  # a copy, not the live buffer
    assert model.readout.mask.any()


def test_export_matches_torch_after_the_same_pruning():
    lstm = MaskedLSTM(3, 4, num_layers=2)
    plain = lstm.to_torch()
    magnitude(lstm, 0.4)
    for name in ("weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"):
        torch_prune.l1_unstructured(plain, name, amount=0.4)
    torch_masks = {k: v for k, v in plain.state_dict().items() if k.endswith("_mask")}
    exported = export_masks(lstm)
    assert exported.keys() == torch_masks.keys()
    assert all(torch.equal(exported[k], torch_masks[k]) for k in exported)


def test_import_a_torch_pruned_state_dict():
    model = classifier()
    plains = {"layers.0": model.layers[0].to_torch(), "layers.1": model.layers[1].to_torch(),
              "readout": model.readout.to_torch()}
    torch_model = nn.ModuleDict({"layers": nn.ModuleList([plains["layers.0"], plains["layers.1"]]),
                                 "readout": plains["readout"]})
    params = [(plains["layers.0"], "weight_hh_l0"), (plains["layers.1"], "weight_ih_l0"), (plains["readout"], "weight")]
    torch_prune.global_unstructured(params, pruning_method=torch_prune.RandomUnstructured, amount=0.5)
    state = torch_model.state_dict()  # holds *_orig, *_mask, biases, unpruned weights
    assert "layers.0.weight_hh_l0_orig" in state
    import_masks(model, state)
    assert torch.equal(model.layers[0].mask_hh_l0, plains["layers.0"].weight_hh_l0_mask.bool())
    assert torch.equal(model.layers[1].mask_ih_l0, plains["layers.1"].weight_ih_l0_mask.bool())
    assert torch.equal(model.readout.mask, plains["readout"].weight_mask.bool())
    assert model.layers[0].mask_ih_l0.all() and model.layers[1].mask_hh_l0.all()  # not named: kept


def test_round_trip_and_and_versus_replace():
    source, target = classifier(0), classifier(1)
    random(source, 0.5, seed=0, targets=("ih", "hh", "ho"))
    random(target, 0.5, seed=1, targets=("ih", "hh", "ho"))
    before = masks_of(target)
    import_masks(target, export_masks(source))  # and: only shrinks
    for r in masked_weights(target):
        assert torch.equal(r.mask, before[r.name] & masks_of(source)[r.name])
    import_masks(target, export_masks(source), mode="replace")
    assert all(torch.equal(m, masks_of(source)[k]) for k, m in masks_of(target).items())


def test_import_accepts_bool_and_int_masks():
    lstm = MaskedLSTM(2, 2)
    mask = torch.ones(8, 2, dtype=torch.bool)
    mask[0] = False
    import_masks(lstm, {"weight_hh_l0_mask": mask})
    import_masks(lstm, {"weight_ih_l0_mask": mask.long()})
    assert torch.equal(lstm.mask_hh_l0, mask) and torch.equal(lstm.mask_ih_l0, mask)


@pytest.mark.parametrize(
    "masks, match",
    [
        ({"weight_hh_l1_mask": torch.ones(8, 2)}, "'weight_hh_l1_mask' names no masked weight"),
        ({"weight_hh_l0_mask": torch.ones(2, 8)}, r"shape \(8, 2\); got \(2, 8\)"),
        ({"weight_hh_l0_mask": [[1.0] * 2] * 8}, r"shape \(8, 2\); got list"),
        ({"weight_hh_l0_mask": torch.full((8, 2), 0.5)}, "only 0 and 1"),
        ({"weight_hh_l0_mask": torch.full((8, 2), float("nan"))}, "only 0 and 1"),
    ],
)
def test_import_bad_masks_change_nothing(masks, match):
    lstm = MaskedLSTM(2, 2)
    good = {"weight_ih_l0_mask": torch.zeros(8, 2)}  # valid, and listed first: must not be applied
    with pytest.raises(InputError, match=match):
        import_masks(lstm, {**good, **masks})
    assert lstm.mask_ih_l0.all() and lstm.mask_hh_l0.all()


def test_import_bad_arguments():
    lstm = MaskedLSTM(2, 2)
    with pytest.raises(InputError, match="'mode' parameter of import_masks"):
        import_masks(lstm, export_masks(lstm), mode="or")
    with pytest.raises(InputError, match="'masks' parameter of import_masks must be a mapping"):
        import_masks(lstm, [torch.ones(8, 2)])
    expected = "holds no '<weight name>_mask' entries; expected keys like 'weight_ih_l0_mask'"
    with pytest.raises(InputError, match=expected):
        import_masks(lstm, {"weight_hh_l0": torch.ones(8, 2)})
    with pytest.raises(InputError, match="'embed.weight_mask' names no masked weight"):
        import_masks(classifier(), {"embed.weight_mask": torch.ones(6, 3)})
