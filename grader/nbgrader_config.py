# nbgrader's configuration for this course, for instructors who run nbgrader's own commands
# (formgrader, `nbgrader generate_assignment`) from the repository root:
#     nbgrader generate_assignment 00_inputs --config grader/nbgrader_config.py
# `python -m grader release` does the same and also normalises the output so that it is
# byte-identical on a re-run.
import os

from dltrain._guide import CODE_STUB

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
# The stub students see instead of a solution (``python -m grader release`` also names the
# exercise in each stub's message).
c.ClearSolutions.code_stub = {"python": CODE_STUB}
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"
