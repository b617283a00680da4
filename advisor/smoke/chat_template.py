"""Rendering a model file's own chat template, safely.

A GGUF's ``tokenizer.chat_template`` is a Jinja program written by whoever published the file.
Rendering it with a plain ``jinja2.Environment`` runs arbitrary Python (the server-side template
injection found in llama-cpp-python, CVE-2024-34359). Here it runs only inside jinja2's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`: no attribute starting with ``_``, no
mutation of lists or dicts, no unsafe callables, ranges capped, and string repetition capped so a
template cannot exhaust memory. The smoke test also renders it inside its worker subprocess, so
a template that loops for ever meets the worker's timeout, not a hung CLI.

The globals and filters are the ones Hugging Face's ``apply_chat_template`` provides, so the
templates real models ship render the same way.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from advisor.errors import InputError

#: Largest string or list a template may build by repetition (``"a" * n``), in items.
MAX_REPEAT_ITEMS = 1_000_000
#: Largest rendered prompt, in characters.
MAX_RENDERED_CHARS = 1_000_000


class ChatTemplateError(InputError):
    """The model's chat template failed to render, or tried something the sandbox forbids."""


def _environment() -> Any:
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class ChatTemplateEnvironment(ImmutableSandboxedEnvironment):
        """The immutable sandbox, with ``*`` and ``**`` bounded."""

        intercepted_binops = frozenset(["*", "**"])

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    if (
                        isinstance(seq, str | list | tuple)
                        and isinstance(times, int)
                        and len(seq) * times > MAX_REPEAT_ITEMS
                    ):
                        raise SecurityError("the template builds a sequence larger than the sandbox allows")
            if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError("the template raises to a power larger than the sandbox allows")
            return super().call_binop(context, operator, left, right)

    def raise_exception(message: str) -> None:
        from jinja2.exceptions import TemplateError

        raise TemplateError(message)

    def tojson(value: Any, indent: int | None = None, ensure_ascii: bool = False, sort_keys: bool = False) -> str:
        return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii, sort_keys=sort_keys)

    def strftime_now(fmt: str) -> str:
        return dt.datetime.now().strftime(fmt)

    env = ChatTemplateEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"], autoescape=False
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render_chat(
    template: str,
    messages: Sequence[Mapping[str, str]],
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Render ``messages`` through ``template`` in the sandbox; any failure is a ChatTemplateError."""
    from jinja2.exceptions import SecurityError, TemplateError

    env = _environment()
    try:
        compiled = env.from_string(template)
        text = compiled.render(
            messages=[dict(m) for m in messages],
            bos_token=bos_token,
            eos_token=eos_token,
            add_generation_prompt=add_generation_prompt,
            **dict(extra or {}),
        )
    except SecurityError as exc:
        raise ChatTemplateError(f"chat template blocked by the sandbox: {_one_line(exc)}") from None
    except TemplateError as exc:
        raise ChatTemplateError(f"chat template failed: {_one_line(exc)}") from None
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, ZeroDivisionError, OverflowError) as exc:
        raise ChatTemplateError(f"chat template failed: {type(exc).__name__}: {_one_line(exc)}") from None
    except RecursionError:
        raise ChatTemplateError("chat template failed: recursion too deep") from None
    if len(text) > MAX_RENDERED_CHARS:
        raise ChatTemplateError(f"chat template rendered {len(text)} characters, more than {MAX_RENDERED_CHARS}")
    return str(text)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__
