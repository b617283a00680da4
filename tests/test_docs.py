"""The docs keep up with the code: every hook (docs/plugins.md) and every check (docs/checks.md)."""

from __future__ import annotations

import re

from advisor.engine.host import PluginHost
from advisor.engine.session import Session
from tests.conftest import ROOT


def test_every_hook_is_documented_with_signature_and_example() -> None:
    text = (ROOT / "docs" / "plugins.md").read_text()
    pm = PluginHost().pm
    for name in (n for n in dir(pm.hook) if n.startswith("advisor_")):
        spec = getattr(pm.hook, name).spec
        signature = f"### {name}({', '.join(spec.argnames)})"
        assert signature in text, f"missing heading {signature!r}"
        section = text.split(signature, 1)[1].split("\n### ", 1)[0]
        assert re.search(rf"```python\n@hookimpl\ndef {name}\(", section), f"{name}: no example"


def test_every_hook_has_a_one_line_docstring() -> None:
    from advisor import hookspecs

    for name in dir(hookspecs):
        if name.startswith("advisor_"):
            doc = getattr(hookspecs, name).__doc__ or ""
            assert doc.strip() and "\n" not in doc.strip(), name


def test_every_check_id_is_documented(session: Session) -> None:
    """docs/checks.md lists every registered built-in check, and the page it points to explains it."""
    text = (ROOT / "docs" / "checks.md").read_text()
    listed = set(re.findall(r"^(?:#+ |\| *)([A-Z]+[0-9]{3})\b", text, re.M))
    registered = {rc.check.id for rc in session.checks}
    assert registered - listed == set(), "checks missing from docs/checks.md"
    assert listed - registered == set(), "docs/checks.md lists checks that no plugin registers"
