# nbgrader reads this file from the folder it runs in: run nbgrader's own commands from the root
# of this (instructor) repository, e.g. `nbgrader generate_assignment 00_inputs --force`.
# The configuration itself is grader/nbgrader_config.py.
import os

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)
load_subconfig(os.path.join(os.path.dirname(os.path.abspath(__file__)),  # noqa: F821
                            "grader", "nbgrader_config.py"))
