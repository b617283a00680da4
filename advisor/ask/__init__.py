"""The questionnaire behind ``advisor ask``: one schema of questions, two ways of answering it.

Questions are data (``questions.yaml`` plus what plugins register through
``advisor_register_questions``), each bound to a field of the answers file. Whatever the source of
an answer — a terminal prompt, an ``--answers`` file, a default — it is checked by the same
pydantic :class:`~advisor.model.requirements.Requirements` model that validates answers files, so an
interactive session and a file fail on the same input with the same words.

The modules, from the questions to the file:

* :mod:`~advisor.ask.questions` — :class:`Spec` (a question as the flow uses it) and loading the
  built-in questions and the plugins' (:func:`load_specs`).
* :mod:`~advisor.ask.parse` — reading typed answers (``20k``, ``yes``, ``a, b``); :class:`AnswerError`.
* :mod:`~advisor.ask.choices` — options for catalog-backed questions (:class:`CatalogChoices`).
* :mod:`~advisor.ask.hardware` — the three hardware questions over the one ``hardware`` value.
* :mod:`~advisor.ask.dotted` — dotted field paths into the nested answers data.
* :mod:`~advisor.ask.state` — :class:`Questionnaire`: the answers so far, which questions apply,
  the answers-file data, checking one answer.
* :mod:`~advisor.ask.display` — answers as the review screen shows them.
* :mod:`~advisor.ask.asker` — the :class:`~advisor.ask.asker.Asker` protocol; :class:`Interrupted`.
* :mod:`~advisor.ask.terminal` — :class:`QuestionaryAsker`, the terminal asker (questionary is
  imported only when it asks, so ``advisor --help`` stays light).
* :mod:`~advisor.ask.flows` — :func:`run_interactive` and :func:`fill_without_asking`.
* :mod:`~advisor.ask.answers_file` — writing answers files and choosing their names.

The hardware spec syntax (``a100-80gb x2``) is shared with ``advisor fit``:
:mod:`advisor.model.hardware_spec`.
"""

from __future__ import annotations

from advisor.ask.answers_file import dump_answers, final_path, free_path, partial_path, write_answers
from advisor.ask.asker import Interrupted
from advisor.ask.choices import CatalogChoices
from advisor.ask.display import display, review_rows
from advisor.ask.flows import fill_without_asking, run_interactive
from advisor.ask.hardware import HARDWARE, HARDWARE_GPU, HARDWARE_RAM
from advisor.ask.parse import AnswerError, parse_number
from advisor.ask.questions import Spec, builtin_specs, load_specs
from advisor.ask.state import Questionnaire
from advisor.ask.terminal import QuestionaryAsker

__all__ = [
    "HARDWARE",
    "HARDWARE_GPU",
    "HARDWARE_RAM",
    "AnswerError",
    "CatalogChoices",
    "Interrupted",
    "QuestionaryAsker",
    "Questionnaire",
    "Spec",
    "builtin_specs",
    "display",
    "dump_answers",
    "fill_without_asking",
    "final_path",
    "free_path",
    "load_specs",
    "parse_number",
    "partial_path",
    "review_rows",
    "run_interactive",
    "write_answers",
]
