"""Looking at programs and models: text and HTML display, graph drawings, model pictures."""

from . import page as _page  # noqa: F401 - registers the notebook display of traces
