"""kata.demo.checkpoint: model.pt round trips, and every bad file gives an error that says
what to do."""

import pytest
import torch

from kata.demo.checkpoint import load_weights, save_model
from kata.testing import LinearNet
from solutions.step3_network import DigitClassifier

CPU = torch.device("cpu")


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = DigitClassifier()
    return model, save_model(model, tmp_path / "out" / "model.pt")


def test_saved_weights_load_into_a_fresh_model(saved):
    model, path = saved
    fresh = load_weights(DigitClassifier(), path, CPU)
    for (name, expected), loaded in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(expected, loaded), name


def test_the_file_is_a_plain_state_dict(saved):
    _, path = saved
    state = torch.load(path, weights_only=True)
    assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())


def test_a_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no model at .*make demo"):
        load_weights(DigitClassifier(), tmp_path / "model.pt", CPU)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", bytes(range(256)) * 4])
def test_a_corrupt_file_is_named_with_the_fix(tmp_path, content):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"model\.pt is not a readable .*make demo"):
        load_weights(DigitClassifier(), path, CPU)


def test_a_file_that_cannot_be_read_says_why(tmp_path, monkeypatch):
    """Catches: a model.pt that is there but cannot be read (its permissions, a disk error)
    called corrupt, when remaking it would not help."""
    path = tmp_path / "model.pt"
    path.write_bytes(b"whatever")

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(torch, "load", refused)
    with pytest.raises(ValueError, match=r"cannot read .*model\.pt: Permission denied"):
        load_weights(DigitClassifier(), path, CPU)


def test_a_file_cut_short_is_named_with_the_fix(saved):
    _, path = saved
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="corrupt, cut short"):
        load_weights(DigitClassifier(), path, CPU)


def test_a_whole_pickled_model_is_refused_without_running_it(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(DigitClassifier(), path)  # the model object, not its state_dict()
    with pytest.raises(ValueError, match=r"state_dict\(\)"):
        load_weights(DigitClassifier(), path, CPU)


def test_weights_of_another_network_are_named_with_the_fix(tmp_path):
    path = save_model(LinearNet(), tmp_path / "model.pt")
    with pytest.raises(ValueError, match=r"another network .*step 3") as error:
        load_weights(DigitClassifier(), path, CPU)
    assert "layers.0.weight" in str(error.value), "the message should show which keys differ"


def test_something_else_than_a_dict_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(ValueError, match="holds a list, not a state dict"):
        load_weights(DigitClassifier(), path, CPU)
