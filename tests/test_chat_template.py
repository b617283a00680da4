"""Chat templates from model files render only in the jinja2 sandbox: real templates work, code
injection (the llama-cpp-python SSTI class of bug) does not run, even from inside a GGUF."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.smoke.chat_template import ChatTemplateError, render_chat
from tests.gguf_factory import write_tiny_gguf

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA3_LIKE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] not in ['user', 'assistant', 'system'] %}{{ raise_exception('bad role') }}{% endif %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' "
    "+ message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)
USER = [{"role": "user", "content": "Hello there"}]


def test_real_templates_render_like_transformers() -> None:
    assert render_chat(CHATML, USER) == "<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n"
    text = render_chat(LLAMA3_LIKE, USER, bos_token="<|begin_of_text|>")
    assert text.startswith("<|begin_of_text|><|start_header_id|>user")
    assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert render_chat(CHATML, USER, add_generation_prompt=False).endswith("<|im_end|>\n")


def test_namespace_loopcontrols_and_tojson_are_available() -> None:
    template = (
        "{% set ns = namespace(n=0) %}{% for m in messages %}{% if loop.index > 1 %}{% break %}{% endif %}"
        "{% set ns.n = ns.n + 1 %}{{ m | tojson }}{% endfor %}{{ ns.n }}"
    )
    assert render_chat(template, [*USER, {"role": "user", "content": "Привет"}]) == (
        '{"role": "user", "content": "Hello there"}1'
    )


def test_template_raise_exception_is_a_one_line_error() -> None:
    with pytest.raises(ChatTemplateError, match="chat template failed: bad role"):
        render_chat(LLAMA3_LIKE, [{"role": "tool", "content": "x"}])


ATTACKS = [
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ lipsum.__globals__['os'].system('touch MARKER') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ joiner.__init__.__globals__.__builtins__['__import__']('os').system('touch MARKER') }}",
    "{{ messages.__class__.__base__.__subclasses__() }}",
    "{% set x = [] %}{{ x.append('touch MARKER') }}",
    "{{ ('x' * 100000) * 100000 }}",
    "{% for i in range(10**9) %}{% endfor %}",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_code_in_a_template_does_not_run(attack: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(ChatTemplateError) as caught:
        render_chat(attack.replace("MARKER", str(marker)), USER)
    assert "\n" not in str(caught.value)
    assert not marker.exists()


def test_a_gguf_whose_template_runs_code_runs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole path: the template inside a model file, rendered by the smoke worker."""
    pytest.importorskip("llama_cpp")
    from advisor.smoke import SmokeOptions, run_smoke

    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "pwned"
    template = "{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}"
    model = write_tiny_gguf(tmp_path / "evil.gguf", chat_template=template)
    result = run_smoke(model, "evil", None, SmokeOptions(max_tokens=8, timeout_s=120, record=False))
    assert not marker.exists()
    assert result["ok"] is False and result["checks"]["chat_template_renders"] is False
    assert "blocked by the sandbox" in result["chat"]["error"]
    assert result["checks"]["non_empty"] is True  # the raw prompt itself ran fine
