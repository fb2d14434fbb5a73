"""The capstone: your steps 2, 4, 5, 6, 7 and 8 together, on the real MNIST.

One epoch of training on 24,000 images must give a network that reads digits it has never
seen. The threshold and how it was calibrated are in kata/capstone.py and the README.
"""

import pytest
import torch

from kata.capstone import SETTING, run_pipeline
from kata.testing import panels, record_margin, title_number

pytestmark = [pytest.mark.capstone, pytest.mark.real_data, pytest.mark.timeout(300)]

SAMPLES_TO_CHECK = 12


@pytest.fixture(scope="module")
def trained(impl, mnist_root, device, test_seed):
    """The learner's pipeline, trained once for every test of this file."""
    return run_pipeline(impl.name, mnist_root, device, SETTING, seed=test_seed)


def test_one_epoch_reaches_the_accuracy_threshold(trained, record_property):
    """Catches: a pipeline that runs but does not learn (a bug that no single step shows)."""
    record_margin(record_property, "accuracy", trained.accuracy, SETTING.min_accuracy)
    assert trained.accuracy >= SETTING.min_accuracy, (
        f"after one epoch on {SETTING.train_limit:,} training images your network gets "
        f"{trained.accuracy:.2%} of the test images right; at least {SETTING.min_accuracy:.0%} "
        "is expected. All step tests pass? Then look at how the steps fit together: the "
        f"transform of step 2, the learning rate of step 4, the loop of step 5. "
        f"Mean training loss: {trained.losses}")


def test_training_loss_is_a_finite_number(trained):
    """Catches: a loss that becomes nan or inf on real data (a learning rate far too high)."""
    assert len(trained.losses) == 1 and torch.isfinite(torch.tensor(trained.losses)).all(), (
        f"fit returned {trained.losses} for one epoch: expected one finite mean loss")


def test_single_predictions_agree_with_batch_predictions(trained, step6, step7, device):
    """Step 6 on one image and step 7 on a batch give the same digits for the trained model."""
    images = torch.stack([trained.test_set[i][0] for i in range(SAMPLES_TO_CHECK)])
    batch = step7.predict_batch(trained.model, images, device).tolist()
    single = [step6.check_single(trained.model, trained.test_set, i, device)[0]
              for i in range(SAMPLES_TO_CHECK)]
    assert single == batch, (
        f"check_single predicted {single} but predict_batch predicted {batch} for the same "
        "first test images: both must run the model the same way (eval mode, no gradients)")


def test_prediction_plot_shows_the_trained_models_answers(trained, step7, step8, device):
    """The step 8 figure of the trained model titles each digit with its prediction and label."""
    figure = step8.plot_predictions(trained.model, trained.test_set, device, count=6)
    images = torch.stack([trained.test_set[i][0] for i in range(6)])
    predicted = step7.predict_batch(trained.model, images, device).tolist()
    shown = [title_number(ax, "pred") for ax in panels(figure)]
    assert shown == predicted, (
        f"the titles show the predictions {shown}, but the trained model predicts {predicted}")
