"""Errors that the CLI turns into one line on stderr and an exit code (docs/design.md §4).

Raising one of these anywhere below the CLI is how a module says "the user's input (or the
environment) is wrong" as opposed to "the program is wrong": the first gets a sentence, the
second a traceback.
"""

from __future__ import annotations


class AdvisorError(Exception):
    """Base class: ``str(error)`` is the one line shown to the user."""

    exit_code = 1


class InputError(AdvisorError):
    """Bad input: an answers file, a catalog record, a flag. The message names the file and field."""

    exit_code = 2


class EnvironmentProblem(AdvisorError):
    """Something missing from the machine: a backend, the network, a file we need."""

    exit_code = 3


class PluginError(AdvisorError):
    """A plugin failed and ``--strict-plugins`` asked for that to be fatal, or check ids collide."""

    exit_code = 2
