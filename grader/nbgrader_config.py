# nbgrader's configuration for this course, for instructors who run nbgrader's own commands
# (formgrader, generate_assignment, autograde, generate_feedback). nbgrader reads it through the
# repository's root nbgrader_config.py: run nbgrader from the root of this repository.
# `python -m grader release` and `python -m grader grade` do the same jobs without nbgrader's
# database, and `grader grade --gradebook URL` writes its scores into an nbgrader gradebook.
import os
import sys

from dltrain._guide import CODE_STUB

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "gradebook.db")
# The stub students see instead of a solution (``python -m grader release`` also names the
# exercise in each stub's message).
c.ClearSolutions.code_stub = {"python": CODE_STUB}
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"

# The kernels nbgrader starts judge the hidden tests against solutions/ (dltrain.grading, with
# grader/native.py); this tells them where the course is.
os.environ["DLTRAIN_COURSE_ROOT"] = ROOT
os.environ.setdefault("DLTRAIN_STATIC_WIDGETS", "1")

from grader.nbgrader_plugins import configure  # noqa: E402

configure(c)
