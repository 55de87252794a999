"""nbgrader preprocessors of the course, one per module, named in nbgrader_config.py."""
from grader.preprocessors.clear_hidden_tracebacks import ClearHiddenTracebacks

__all__ = ["ClearHiddenTracebacks"]
