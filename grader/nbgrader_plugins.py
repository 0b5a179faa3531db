"""What nbgrader's own pipeline needs to treat this course right (see nbgrader_config.py).

* Releasing (``nbgrader generate_assignment``) drops the cells tagged ``feedback-only`` (model
  answers and explanations), as ``python -m grader release`` does.
* Feedback (``nbgrader generate_feedback``) hides the hidden tests' source, which nbgrader would
  otherwise print with its seeds, and shortens the errors of test cells to their message (a
  traceback quotes the hidden lines around the failure).
"""

from __future__ import annotations

from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

from .notebooks import is_feedback_only


class RemoveFeedbackOnly(NbGraderPreprocessor):
    """Drop the cells tagged ``feedback-only`` from a notebook about to be released."""

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if not is_feedback_only(cell)]
        return nb, resources


class ShortTestErrors(NbGraderPreprocessor):
    """Keep only ``name: message`` of an error in a test cell: the traceback quotes the cell's
    lines around the failure, hidden tests (and their seeds) included."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: "
                                           f"{output.get('evalue', '')}"]
        return cell, resources


def configure(c) -> None:
    """Add the two preprocessors to nbgrader's defaults (given the config object ``c``)."""
    from nbgrader.converters import GenerateAssignment, GenerateFeedback

    release = list(GenerateAssignment.class_traits()["preprocessors"].default())
    c.GenerateAssignment.preprocessors = [RemoveFeedbackOnly, *release]
    feedback = list(GenerateFeedback.class_traits()["preprocessors"].default())
    c.GenerateFeedback.preprocessors = [feedback[0], ClearHiddenTests, ShortTestErrors,
                                        *feedback[1:]]
