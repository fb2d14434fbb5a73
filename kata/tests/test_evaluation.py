"""kata.demo.evaluation: the confusion matrix and what the demo reads from it."""

import torch
from matplotlib.figure import Figure

from kata.demo.evaluation import confusion_matrix, most_confused, per_digit_accuracy, plot_confusion

LABELS = torch.tensor([0, 0, 1, 1, 4, 4, 4, 9])
PREDICTIONS = torch.tensor([0, 0, 1, 7, 9, 9, 4, 9])


def test_rows_are_true_digits_and_columns_predictions():
    confusion = confusion_matrix(PREDICTIONS, LABELS)
    assert confusion.shape == (10, 10) and confusion.sum() == len(LABELS)
    assert confusion[4, 9] == 2 and confusion[1, 7] == 1 and confusion[0, 0] == 2


def test_per_digit_accuracy_divides_by_each_digits_count():
    accuracy = per_digit_accuracy(confusion_matrix(PREDICTIONS, LABELS))
    assert accuracy[0] == 1.0 and accuracy[1] == 0.5 and abs(accuracy[4] - 1 / 3) < 1e-6
    assert accuracy[2] == 0.0, "a digit with no images reads 0, not nan"


def test_most_confused_lists_the_commonest_mistakes_first():
    assert most_confused(confusion_matrix(PREDICTIONS, LABELS)) == [(4, 9, 2), (1, 7, 1)]


def test_the_figure_labels_its_axes():
    figure = plot_confusion(confusion_matrix(PREDICTIONS, LABELS))
    ax = figure.axes[0]
    assert isinstance(figure, Figure)
    assert ax.get_xlabel() == "predicted digit" and ax.get_ylabel() == "true digit"
    assert {text.get_text() for text in ax.texts} == {"2", "1"}
