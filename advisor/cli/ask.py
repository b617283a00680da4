"""``advisor ask``: the questionnaire on a terminal, then the plan (docs/questionnaire.md).

On a terminal it asks with questionary; anywhere else it never prompts and never waits: the
answers come from ``--answers`` (and ``--defaults``), and required ones that are missing are an
exit-2 error naming each. Every answer given is kept in a partial answers file as soon as it is
given, so Ctrl-C or end of input loses nothing (``--resume`` continues). The finished answers are
an ordinary answers file: ``advisor plan --answers FILE`` gives the same plan.
"""

from __future__ import annotations

import shlex
import sys
from datetime import date
from pathlib import Path

import click

from advisor.cli.options import SessionOptions, render_plan, session_options


@click.command(name="ask")
@click.option(
    "--answers",
    type=click.Path(path_type=Path),
    default=None,
    help="Pre-fill from this answers file (YAML or JSON); the questions it answers are not asked again.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Save the answers here [default: answers.yaml, or answers-2.yaml... if taken].",
)
@click.option(
    "--defaults",
    is_flag=True,
    help="Accept the default of every optional question without asking; with no terminal, of required ones too.",
)
@click.option(
    "--no-input",
    is_flag=True,
    help="Never prompt (implied when stdin or stdout is not a terminal); missing required answers exit 2.",
)
@click.option(
    "--resume",
    type=click.Path(path_type=Path),
    default=None,
    help="Continue an interrupted questionnaire from the partial answers file it left.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "json", "html"]),
    default="md",
    show_default=True,
    help="Report format (as `advisor plan`).",
)
@session_options(selection=True)
def ask(
    answers: Path | None,
    out: Path | None,
    defaults: bool,
    no_input: bool,
    resume: Path | None,
    fmt: str,
    options: SessionOptions,
) -> None:
    """Answer the questionnaire (about 15 questions, each with a default), review, then get the plan."""
    from advisor.ask import (
        CatalogChoices,
        Interrupted,
        QuestionaryAsker,
        Questionnaire,
        fill_without_asking,
        final_path,
        free_path,
        load_specs,
        partial_path,
        run_interactive,
        write_answers,
    )
    from advisor.engine.run import run_plan
    from advisor.errors import InputError
    from advisor.files.output import output_target
    from advisor.files.structured import read_structured_file
    from advisor.model.requirements import requirements_from_data

    if answers is not None and resume is not None:
        raise InputError("--answers and --resume: give one (a partial answers file is an answers file)")
    given = resume or answers
    session = options.session()
    specs = load_specs(session.questions(), session.host.record_error)  # errors: warnings on stderr
    data = None
    if given is not None:
        data = read_structured_file(given)
        requirements_from_data(data, str(given))  # the same checks as `advisor plan`, before any question
    questionnaire = Questionnaire.from_data(specs, data, CatalogChoices(lambda: session.catalog))

    interactive = not no_input and _is_terminal(sys.stdin) and _is_terminal(sys.stdout)
    out_named = out is not None
    if out is None:
        out = final_path(resume) if resume is not None else free_path(Path())
    output_target(out, "--out")  # a missing directory, a FIFO or a device: say so before the first question
    keep = resume if resume is not None else partial_path(out)
    again = options.as_arguments()
    rerun = shlex.join(["advisor", "plan", "--answers", str(out), *again, *_format(fmt)])
    resume_command = shlex.join(["advisor", "ask", "--resume", str(keep), *again])

    def save_partial() -> None:
        header = f"Partial answers from `advisor ask`, {date.today()}. Continue: {resume_command}"
        write_answers(keep, questionnaire.data(), header, option=None)

    action = "plan"
    write = True
    if interactive:
        asker = QuestionaryAsker(choices=questionnaire.choices)
        asker.show("Answer a few questions; Enter keeps the suggested answer. Ctrl-C stops and keeps your answers.")
        try:
            action = run_interactive(questionnaire, asker, defaults=defaults, after_each=save_partial)
        except Interrupted as stop:
            if questionnaire.answered_here() or resume is not None:
                save_partial()
                n = len(questionnaire.values)
                click.echo(
                    f"\nadvisor: {stop.reason}; {n} answer{'s' if n != 1 else ''} kept in {keep}. "
                    f"Continue with: {resume_command}",
                    err=True,
                )
            else:
                click.echo(f"\nadvisor: {stop.reason} before the first answer; nothing to keep", err=True)
            sys.exit(130)
    else:
        fill_without_asking(questionnaire, defaults=defaults, where=str(given) if given else "advisor ask")
        if answers is not None and not out_named:
            # nothing was asked and every default equals the answers-file default: the given file
            # already plans the same, so it is the one to name (and no new file is left behind)
            write = False
            rerun = shlex.join(["advisor", "plan", "--answers", str(answers), *again, *_format(fmt)])

    requirements = questionnaire.requirements()
    if write:
        header = f"Answers from `advisor ask`, {date.today()}. Plan again: {rerun}"
        write_answers(out, questionnaire.data(), header)
        click.echo(f"advisor: answers saved to {out}", err=True)
    if keep != out and keep.exists() and keep.name.endswith((".partial.yaml", ".partial.yml", ".partial.json")):
        keep.unlink()
    if action == "save":
        click.echo(f"Plan later with: {rerun}", err=True)
        return

    # a fresh session: the plan must not carry question-registration warnings `advisor plan` lacks
    plan = run_plan(requirements, options.session())
    render_plan(plan, fmt, None)
    click.echo(f"\nRe-run without questions: {rerun}", err=True)
    if not plan.ranked:
        sys.exit(1)


def _is_terminal(stream: object) -> bool:
    """A closed or replaced stream (None, a StringIO without fileno) is not a terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False


def _format(fmt: str) -> list[str]:
    return [] if fmt == "md" else ["--format", fmt]
