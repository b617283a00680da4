"""The built-in catalog: complete, sourced, validated; overlays and bad records behave."""

from __future__ import annotations

import pytest

from advisor.catalog import tables
from advisor.catalog.loader import Catalog, read_catalog_file
from advisor.catalog.planning import PlanningDefaults, planning_defaults
from advisor.engine.session import Session
from advisor.errors import InputError

REQUIRED_MODELS = [
    "meta-llama/Llama-2-7b-chat-hf",
    "meta-llama/Llama-2-13b-chat-hf",
    "meta-llama/Llama-2-70b-chat-hf",
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Llama-3.1-70B-Instruct",
    "meta-llama/Llama-3.2-1B-Instruct",
    "meta-llama/Llama-3.2-3B-Instruct",
    "meta-llama/Llama-3.3-70B-Instruct",
    "mistralai/Mistral-7B-Instruct-v0.3",
    "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "mistralai/Mistral-Nemo-Instruct-2407",
    "mistralai/Mistral-Large-Instruct-2407",
    *[f"Qwen/Qwen2.5-{s}-Instruct" for s in ("0.5B", "1.5B", "3B", "7B", "14B", "32B", "72B")],
    *[f"google/gemma-2-{s}-it" for s in ("2b", "9b", "27b")],
    *[f"google/gemma-3-{s}-it" for s in ("270m", "1b", "4b", "12b", "27b")],
    "microsoft/Phi-3-mini-4k-instruct",
    "microsoft/Phi-3.5-mini-instruct",
    "microsoft/phi-4",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
    "deepseek-ai/DeepSeek-V3",
    "CohereForAI/c4ai-command-r-v01",
    "tiiuae/Falcon3-7B-Instruct",
    "allenai/OLMo-2-1124-7B-Instruct",
    "HuggingFaceTB/SmolLM2-1.7B-Instruct",
    "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    "openai/gpt-oss-20b",
    "openai/gpt-oss-120b",
]
RUSSIAN_PUBLISHERS = ("yandex/", "ai-sage/", "Vikhrmodels/", "t-tech/")
REQUIRED_HARDWARE = [
    "h100-sxm",
    "h100-pcie",
    "h200",
    "a100-40gb",
    "a100-80gb",
    "l40s",
    "l4",
    "a10g",
    "t4",
    "rtx-3060-12gb",
    "rtx-3090",
    "rtx-4060-ti-16gb",
    "rtx-4070",
    "rtx-4080",
    "rtx-4090",
    "rtx-5090",
    "m1-max",
    "m2-ultra",
    "m3-max",
    "m4-pro",
    "m4-max",
    "cpu-ddr4-dual",
    "cpu-ddr5-dual",
    "cpu-server-ddr5-12ch",
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    from advisor.engine.host import PluginHost

    return Session(host=PluginHost().load(entrypoints=False)).catalog


def test_sizes(catalog: Catalog) -> None:
    assert len(catalog.models) >= 40
    assert len(catalog.apis) >= 30
    assert len(catalog.hardware) >= 25
    assert len(catalog.licenses) >= 30
    assert {"Q4_K_M", "Q8_0", "F16"} <= set(catalog.quants)


def test_required_models_and_hardware(catalog: Catalog) -> None:
    assert not [m for m in REQUIRED_MODELS if m not in catalog.models]
    assert not [h for h in REQUIRED_HARDWARE if h not in catalog.hardware]
    russian_first = [m.id for m in catalog.models.values() if m.id.startswith(RUSSIAN_PUBLISHERS)]
    assert len(russian_first) >= 2
    assert all("ru" in catalog.models[m].languages for m in russian_first)


def test_api_providers(catalog: Catalog) -> None:
    providers = {a.provider for a in catalog.apis.values()}
    for wanted in ("openai", "anthropic", "gemini", "mistral", "deepseek", "groq", "together_ai"):
        assert wanted in providers, wanted


def test_every_model_licence_is_known(catalog: Catalog) -> None:
    unknown = {m.id: m.license for m in catalog.models.values() if catalog.find_license(m.license) is None}
    assert not unknown


def test_parameter_counts_match_architecture(catalog: Catalog) -> None:
    """Dense decoder configs imply their parameter count; a wrong config value shows up here."""
    for model in catalog.models.values():
        a = model.architecture
        if (
            a.num_local_experts
            or (a.model_extra or {}).get("kv_lora_rank")
            or a.model_type not in {"llama", "mistral", "qwen2", "qwen3"}
        ):
            continue
        hd = a.attention_head_dim
        attn = a.hidden_size * hd * (a.num_attention_heads * 2 + a.kv_heads * 2)
        mlp = 3 * a.hidden_size * (a.intermediate_size or 0)
        bias = (
            (a.num_attention_heads + 2 * a.kv_heads) * hd
            if (a.model_extra or {}).get("attention_bias") or a.model_type == "qwen2"
            else 0
        )
        emb = a.vocab_size * a.hidden_size * (1 if a.tie_word_embeddings else 2)
        total = a.num_hidden_layers * (attn + mlp + bias + 2 * a.hidden_size) + emb + a.hidden_size
        assert abs(total - model.params) / model.params < 0.01, (model.id, total, model.params)


def test_apple_memory_and_alias(catalog: Catalog) -> None:
    assert (
        catalog.find_hardware("RTX4090") is catalog.hardware["rtx-4090"]
        or catalog.find_hardware("4090") is catalog.hardware["rtx-4090"]
    )


def test_views_and_lookups_follow_add(catalog: Catalog) -> None:
    """The typed views and find_* indexes are kept between reads and rebuilt after add()."""
    mine = Catalog()
    for kind in ("hardware", "quants", "licenses"):
        mine.add(kind, list(catalog.records[kind].values()), "built-in")
    assert mine.hardware is mine.hardware  # one view until the next add()
    assert mine.find_hardware(" RTX-4090 ") is catalog.hardware["rtx-4090"]
    assert mine.find_quant("q4_k_m") is catalog.quants["Q4_K_M"]
    assert mine.find_license("nope") is None and mine.find_license(None) is None
    device = catalog.hardware["rtx-4090"].model_copy(update={"id": "box", "aliases": ["My-Box"]})
    mine.add("hardware", [device], "overlay")
    assert mine.hardware["box"] is device
    assert mine.find_hardware("my-box") is device and mine.find_hardware("box") is device
    # a later record's id never takes a key an earlier record already answers to
    clash = device.model_copy(update={"id": "rtx-4090-clone", "aliases": ["rtx-4090"]})
    mine.add("hardware", [clash], "overlay")
    assert mine.find_hardware("rtx-4090") is catalog.hardware["rtx-4090"]


def test_bad_record_names_file_record_and_field(write) -> None:
    path = write(
        "hw.yaml",
        """hardware:
  - id: box
    name: Box
    kind: gpu
    vendor: acme
    backend: cuda
    memory_gib: lots
    bandwidth_gb_s: 100
    source: https://example.com
    as_of: 2026-01-01
""",
    )
    with pytest.raises(InputError) as info:
        read_catalog_file(path)
    assert str(info.value).startswith(f"{path}: hardware[0] (box): memory_gib: input should be a valid number")


def test_record_without_source_is_rejected(write) -> None:
    path = write(
        "l.yaml",
        "licenses:\n  - {id: x, name: X, commercial_use: yes, link: 'https://x', summary: s, as_of: 2026-01-01}\n",
    )
    with pytest.raises(InputError, match=r"licenses\[0\] \(x\): source: field required"):
        read_catalog_file(path)


def test_unknown_kind(write) -> None:
    with pytest.raises(InputError, match="unknown catalog kind 'gpus'"):
        read_catalog_file(write("g.yaml", "gpus: []\n"))


def test_overlay_overrides_by_id(write, host) -> None:
    overlay = write(
        "overlay/hardware.yaml",
        """hardware:
  - id: rtx-4090
    name: My overclocked 4090
    kind: gpu
    vendor: nvidia
    backend: cuda
    memory_gib: 24
    bandwidth_gb_s: 1100
    source: https://example.com/mine
    as_of: 2026-11-01
""",
    )
    catalog = Session(host=host, catalog_dir=overlay.parent).catalog
    assert catalog.hardware["rtx-4090"].bandwidth_gb_s == 1100
    assert catalog.origins[("hardware", "rtx-4090")] == str(overlay)
    assert "h100-sxm" in catalog.hardware


def test_planning_defaults_name_catalog_records(catalog: Catalog) -> None:
    """Every quant, device and CPU class in catalog/planning.yaml exists (a typo would drop variants silently)."""
    defaults = planning_defaults()
    for quant in (
        *defaults.quants.plan,
        *defaults.quants.fit,
        *defaults.quants.serve,
        *defaults.quants.server_quantization,
    ):
        assert catalog.find_quant(quant) is not None, quant
    for device in defaults.cloud.devices:
        record = catalog.find_hardware(device)
        assert record is not None and record.rental is not None, device
    assert catalog.find_hardware(defaults.default_cpu_device) is not None
    assert defaults.server_quantization("q4_k_m") == "awq" and defaults.server_quantization("F16") is None


def test_packaged_table_errors_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A packaged table that does not match its schema stops with the file and the field."""
    monkeypatch.setattr(tables, "read_yaml", lambda name: {"as_of": "2026-01-01", "quants": {}})
    with pytest.raises(InputError) as info:
        tables.load_table("planning.yaml", PlanningDefaults)
    message = str(info.value)
    assert message.startswith("catalog/planning.yaml: ") and "quants.plan: field required" in message
    assert "\n" not in message
    with pytest.raises(InputError, match=r"catalog/no-such\.csv: cannot read the packaged table"):
        tables.read_csv("no-such.csv")
