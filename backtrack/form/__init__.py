"""The "log a day" form: :mod:`.model` holds its logic (a traitlets model, no widgets,
tested without a browser) and :mod:`.view` its ipywidgets view, which only links widgets
to the model. ``notebooks/01-log.ipynb`` displays :func:`log_form`.
"""

from __future__ import annotations

from .model import LogFormModel, Message
from .view import LogForm, log_form

__all__ = ["LogForm", "LogFormModel", "Message", "log_form"]
