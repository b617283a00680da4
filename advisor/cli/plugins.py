"""``advisor plugins`` and ``advisor checks``: what is loaded, and every rule it registered.

Both keep working when a plugin is broken: that is when a user needs them. They never run in strict
mode, list a check id two plugins register under both, and print plugin errors as warnings.
"""

from __future__ import annotations

import json

import click

from advisor.cli.options import print_table


@click.command(name="plugins")
@click.option("--all", "show_all", is_flag=True, help="Include the built-in plugins.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--plugin", "plugins", multiple=True, metavar="PATH_OR_MODULE", help="Also load this plugin.")
def plugins_command(show_all: bool, fmt: str, plugins: tuple[str, ...]) -> None:
    """List plugins with origin, version, hooks and load errors (works when a plugin is broken)."""
    from advisor.engine.host import PluginHost

    host = PluginHost(strict=False).load(extra=plugins)
    rows = [info.as_dict() for info in host.plugin_infos(include_builtin=show_all)]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        print_table(rows, ["name", "origin", "version", "hooks", "error"])


@click.command(name="checks")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--plugin", "plugins", multiple=True, metavar="PATH_OR_MODULE", help="Also load this plugin.")
def checks_command(fmt: str, plugins: tuple[str, ...]) -> None:
    """List every registered check with its id, category and plugin (works when a plugin is broken)."""
    from advisor.engine.host import PluginHost
    from advisor.engine.session import Session

    host = PluginHost(strict=False).load(extra=plugins)
    session = Session(host=host)
    rows = [
        {
            "id": rc.check.id,
            "category": rc.check.category,
            "plugin": rc.plugin,
            "summary": rc.check.summary,
            "kinds": list(rc.check.kinds),
        }
        for rc in session.registered_checks
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        print_table(rows, ["id", "category", "plugin", "summary"])
    for error in [*host.errors, *session.duplicate_check_ids()]:
        click.echo(f"advisor: warning: {error}", err=True)
