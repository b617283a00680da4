"""docs/plugins.md documents every hook with its exact signature and an example."""

from __future__ import annotations

import re

from advisor.engine.host import PluginHost
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
