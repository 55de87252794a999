"""nbgrader configuration of the course (read by nbgrader, JupyterLab's formgrader and `grader`).

solutions/ is nbgrader's source directory and lessons/ its release directory; everything
nbgrader writes while grading (gradebook, autograded copies, feedback) goes under the
git-ignored folder graded/ (or COURSE_GRADED_DIR).
"""
import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file
root = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = root
c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"
# The grading folder (gradebook, autograded copies, feedback): graded/ unless COURSE_GRADED_DIR
# names another output folder of `python -m grader autograde --out DIR`, e.g. to open its
# submissions in the formgrader: COURSE_GRADED_DIR=DIR COURSE_SUBMISSIONS_DIR=SUBMISSIONS make lab
graded = os.path.abspath(os.environ.get("COURSE_GRADED_DIR") or os.path.join(root, "graded"))
c.CourseDirectory.submitted_directory = os.path.abspath(
    os.environ.get("COURSE_SUBMISSIONS_DIR") or os.path.join(graded, "submitted"))
c.CourseDirectory.autograded_directory = os.path.join(graded, "autograded")
c.CourseDirectory.feedback_directory = os.path.join(graded, "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(graded, "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".~lock.*"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.OverwriteCells.add_missing_cells = True
c.Execute.timeout = 60  # seconds per cell
c.Execute.extra_arguments = ["--HistoryManager.enabled=False"]

c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grader.preprocessors.ClearHiddenTracebacks",  # must see the hidden-test markers, so first
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# Limits of each submission's sandbox (python -m grader autograde flags override them).
c.Sandbox.cell_timeout = 60
c.Sandbox.notebook_timeout = 600
c.Sandbox.memory_mb = 4096
c.Sandbox.max_processes = 128
c.Sandbox.max_output_bytes = 1_000_000
c.Sandbox.max_outputs = 200
c.Sandbox.file_size_mb = 256
c.Sandbox.disk_mb = 1024      # home, working copy, /tmp and /dev/shm together (a tmpfs; counts as memory too)
c.Sandbox.max_files = 20_000
c.Sandbox.cpu_weight = 100    # the CPU share of all of a submission's processes together

# What the grader accepts of a submission before reading it further (a larger or longer
# notebook, or a folder with more entries, is "invalid"; extra files beyond the budget are not copied).
c.Submission.max_notebook_mb = 64
c.Submission.max_cells = 2000
c.Submission.max_extra_files_mb = 20
c.Submission.max_files = 500
