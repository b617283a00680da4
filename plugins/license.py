"""Licence checks LIC001-LIC008: may the business use this model the way it plans to?

Every finding rests on a clause of the licence in ``catalog/licenses.yaml``: it quotes (or, where the
record says so, paraphrases) that clause and links the text, so a reader can check the rule instead
of trusting the tool. The report says once, in its footer, that this is guidance and not legal advice.

A fine-tune carries its base model's duties, so every check reads the model's *lineage*: its own
licence plus the licence of each base model up the ``base_model`` chain, built by
``advisor.engine.licensing`` (the same lineage ``advisor licenses MODEL`` shows; the rules are there). The
lineage is resolved once per model and kept in ``catalog.derived``: the checks run on every deployment
variant (~200 per plan) and do no I/O.

| id | what it checks |
|---|---|
| LIC001 | commercial use (and research-only / non-production licences); unidentified licences warn |
| LIC002 | monthly-active-user caps against ``license.monthly_active_users``; output-token caps against traffic |
| LIC003 | hosting for third parties against ``license.saas_hosting`` (incl. use restrictions to pass on) |
| LIC004 | regional exclusions (Llama 3.2/4 multimodal in the EU) against ``privacy.data_residency`` |
| LIC005 | attribution, notice and naming duties: the exact words to ship |
| LIC006 | acceptable-use clauses that bear on the answers' ``use_case`` |
| LIC007 | gated Hugging Face repositories: accept the terms first |
| LIC008 | lineage: a fine-tune labelled more permissively than its base |
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from advisor import AdvisorContext, Candidate, Check, Finding, Requirements, hookimpl
from advisor.engine.licensing import UNIDENTIFIED, LicenceLink, Lineage, licence_lineage
from advisor.estimate.cost import monthly_tokens
from advisor.estimate.cost_constants import cost_constants

if TYPE_CHECKING:
    from advisor.engine.licensing import Catalog, LicenseRecord

#: The 27 member states of the European Union (ISO 3166-1 alpha-2; Greece as EL and GR), so that a
#: data residency given as a country code meets an "EU" exclusion. Source:
#: https://european-union.europa.eu/principles-countries-history/eu-countries_en (read 2026-11-23).
EU_MEMBER_STATES = frozenset(
    {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "GR", "HU"}
    | {"IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
)

#: Longest quotation a message carries; the evidence always holds the whole clause.
MAX_QUOTE_CHARS = 320

_CACHE_TAG = "advisor_plugins.license/lineage"


def resolve_lineage(candidate: Candidate, catalog: Catalog) -> Lineage:
    """The candidate's lineage, memoised in ``catalog.derived`` (a pure function of the catalog)."""
    extra = candidate.extra
    key = (
        _CACHE_TAG,
        candidate.id,
        candidate.license,
        candidate.base_model,
        extra.get("license_name"),
        extra.get("base_model_license"),
    )
    cached = catalog.derived.get(key)
    if isinstance(cached, Lineage):
        return cached
    lineage = _candidate_lineage(candidate, catalog)
    catalog.derived[key] = lineage
    return lineage


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _candidate_lineage(candidate: Candidate, catalog: Catalog) -> Lineage:
    """The shared lineage builder fed from the candidate.

    The catalog record's licence facts win when the record declares the candidate's licence; otherwise the
    candidate was built from other facts (a Hub card), which it carries in ``candidate.extra``.
    """
    own = catalog.models.get(candidate.id)
    if own is not None and own.license != candidate.license:
        own = None
    extra = candidate.extra
    raw = extra.get("modalities")
    card_modalities = tuple(str(m) for m in raw) if isinstance(raw, list | tuple) else None
    return licence_lineage(
        catalog,
        candidate.id,
        declared=candidate.license,
        license_name=own.license_name if own else _text(extra.get("license_name")),
        license_link=own.license_link if own else _text(extra.get("license_link")),
        base_model=candidate.base_model,
        base_model_license=own.base_model_license if own else _text(extra.get("base_model_license")),
        modalities=own.modalities if own is not None and own.modalities is not None else card_modalities,
        ancestors=own.base_lineage if own is not None else (),
    )


def quoted(text: str, exact: bool) -> str:
    """A clause for a message: in quotation marks when it is the licence's own words, shortened at a word."""
    words = " ".join(text.split())
    if len(words) > MAX_QUOTE_CHARS:
        words = words[:MAX_QUOTE_CHARS].rsplit(" ", 1)[0] + " [...]"
    return f"“{words}”" if exact else words


def cite(record: LicenseRecord, *topics: str) -> tuple[str, dict[str, Any]]:
    """The first of ``topics`` the record has a clause for, as message text and evidence.

    Falls back to the record's summary (a paraphrase) so a finding always says what it rests on.
    """
    clause = next((record.clauses[t] for t in topics if t in record.clauses), None)
    if clause is None:
        where, words, link = record.name, record.summary, record.link
        evidence: dict[str, Any] = {"clause": None, "text": record.summary, "quote": False}
    else:
        where = f"{record.name} {clause.section}" if clause.section else record.name
        words = quoted(clause.text, clause.quote)
        if clause.secondary:
            words += " (from a secondary source; check the licence text)"
        link = clause.link or record.link
        evidence = {
            "clause": next(t for t in topics if t in record.clauses),
            "section": clause.section,
            "text": clause.text,
            "quote": clause.quote,
            "secondary": clause.secondary,
        }
    evidence.update({"license": record.id, "link": link, "source": record.source})
    return f"{where}: {words} ({link})", evidence


def _via(candidate: Candidate, link: LicenceLink) -> str:
    """The lineage prefix of a message about a base model's licence ('' for the model's own)."""
    if link.model == candidate.id:
        return ""
    licence = link.record.id if link.record else link.label
    return f"{candidate.id} is derived from {link.model}, whose licence ({licence}) carries over. "


def _model_evidence(candidate: Candidate, link: LicenceLink) -> dict[str, Any]:
    return {"model": link.model, "derived_model": candidate.id} if link.model != candidate.id else {"model": link.model}


def _unidentified(candidate: Candidate, link: LicenceLink) -> Finding:
    """An ``other`` / unknown / uncatalogued licence: never a silent pass."""
    known = link.record is not None and link.record.id in UNIDENTIFIED
    what = f"license: {link.label}" if link.declared or link.license_name else "no licence declared"
    where = f"; license_link: {link.license_link}" if link.license_link else ""
    reason = "names no terms of its own" if known else "is not in the licence catalog"
    return Finding(
        severity="warn",
        message=f"licence of {link.model} not identified ({what}{where}): it {reason}, so commercial use, "
        "hosting and user caps cannot be checked. Read it before any use beyond evaluation.",
        evidence={
            "model": link.model,
            "license": link.declared,
            "license_name": link.license_name,
            "license_link": link.license_link,
            "model_page": f"https://huggingface.co/{link.model}" if "/" in link.model else None,
        },
        remediation="read the licence (license_link, or the repository's LICENSE file); add it to the catalog "
        "with --catalog-dir (a licenses: record) so the checks can use it, or choose a model with a known licence",
    )


def commercial_use_allowed(
    candidate: Candidate, requirements: Requirements, context: AdvisorContext
) -> Iterator[Finding]:
    """LIC001: the licence (and every licence up the lineage) allows the planned use."""
    lineage = resolve_lineage(candidate, context.catalog)
    policy = requirements.license
    if not lineage.own.identified:
        yield _unidentified(candidate, lineage.own)
    terms = lineage.terms()
    blocked = False
    for link, record in terms:
        if record.commercial_use == "no" and policy.commercial_use:
            blocked = True
            text, evidence = cite(record, "commercial_use")
            kind = {"research": "research-only", "non-production": "non-production"}.get(record.permitted_use, "")
            yield Finding(
                severity="fail",
                message=f"{_via(candidate, link)}{record.name} does not allow commercial use"
                f"{f' ({kind} licence)' if kind else ''}: {text}",
                evidence={**evidence, **_model_evidence(candidate, link)},
                remediation="ask the licensor for a commercial licence, or choose a model whose licence allows "
                "commercial use",
            )
    if blocked:
        return
    conditions = False
    for link, record in terms:
        capped = record.monthly_active_user_cap is not None or record.monthly_output_token_cap is not None
        if record.commercial_use == "conditional" and policy.commercial_use and not capped:
            conditions = True
            text, evidence = cite(record, "commercial_use")
            yield Finding(
                severity="warn",
                message=f"{_via(candidate, link)}{record.name} allows commercial use only on a condition the "
                f"answers cannot settle: {text}",
                evidence={**evidence, **_model_evidence(candidate, link)},
                remediation="complete the licensor's registration or request before production use",
            )
        elif not policy.commercial_use and record.permitted_use in {"research", "non-production"}:
            conditions = True
            text, evidence = cite(record, "commercial_use")
            yield Finding(
                severity="info",
                message=f"{_via(candidate, link)}{record.name} allows {record.permitted_use} use only, even "
                f"without commercial use: {text}",
                evidence={**evidence, **_model_evidence(candidate, link)},
            )
    if conditions or not lineage.own.identified or not terms:
        return
    own_record = terms[0][1]
    text, evidence = cite(own_record, "commercial_use")
    capped_names = [r.name for _, r in terms if r.monthly_active_user_cap or r.monthly_output_token_cap]
    tail = f" (caps checked by LIC002: {', '.join(capped_names)})" if capped_names else ""
    allowed = "allows commercial use" if policy.commercial_use else "allows this (non-commercial) use"
    own = lineage.own
    declared = f" (declared {own.label})" if own.declared != own_record.id else ""
    yield Finding(
        severity="pass",
        message=f"{own_record.name}{declared} {allowed}{tail}: {text}",
        evidence={**evidence, "lineage": [link.model for link, _ in terms]},
    )


def usage_caps(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    """LIC002: monthly-active-user caps and output-token thresholds against the answers."""
    users = requirements.license.monthly_active_users
    for link, record in resolve_lineage(candidate, context.catalog).terms():
        via, who = _via(candidate, link), _model_evidence(candidate, link)
        cap = record.monthly_active_user_cap
        if cap is not None:
            text, evidence = cite(record, "user_cap")
            evidence = {**evidence, **who, "monthly_active_user_cap": cap, "monthly_active_users": users}
            if users is None:
                yield Finding(
                    severity="info",
                    message=f"{via}{record.name} needs a separate licence above {cap:,} monthly active users; "
                    f"the answers do not say how many you have (license.monthly_active_users): {text}",
                    evidence=evidence,
                    remediation="state license.monthly_active_users in the answers",
                )
            elif users > cap:
                yield Finding(
                    severity="fail",
                    message=f"{via}{record.name} requires a licence from the licensor above {cap:,} monthly "
                    f"active users; the answers expect {users:,}: {text}",
                    evidence=evidence,
                    remediation="request a licence from the licensor, or choose a model without a user cap",
                )
            else:
                yield Finding(
                    severity="pass",
                    message=f"{via}{users:,} monthly active users is within the {cap:,} cap of {record.name} "
                    f"({record.clauses['user_cap'].section if 'user_cap' in record.clauses else 'licence'})",
                    evidence=evidence,
                )
        token_cap = record.monthly_output_token_cap
        if token_cap is not None:
            traffic = requirements.traffic
            days = cost_constants().days_per_month
            output = monthly_tokens(traffic.requests_per_day, traffic.input_tokens, traffic.output_tokens, days)
            text, evidence = cite(record, "usage_cap")
            evidence = {
                **evidence,
                **who,
                "monthly_output_token_cap": token_cap,
                "monthly_output_tokens": round(output.output_tokens),
                "formula": f"requests_per_day × output_tokens × {days:g} days/month",
            }
            if output.output_tokens > token_cap:
                yield Finding(
                    severity="warn",
                    message=f"{via}the traffic implies {output.output_tokens:,.0f} output tokens a month "
                    f"({traffic.requests_per_day:,} requests/day × {traffic.output_tokens:,} tokens × {days:g} "
                    f"days), above the {token_cap:,} at which {record.name} requires you to agree terms with the "
                    f"licensor: {text}",
                    evidence=evidence,
                    remediation="contact the licensor within the period the clause sets, or choose another model",
                )
            else:
                yield Finding(
                    severity="pass",
                    message=f"{via}{output.output_tokens:,.0f} output tokens a month is under the {token_cap:,} "
                    f"threshold of {record.name}",
                    evidence=evidence,
                )


def hosting_allowed(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    """LIC003: offering the model to third parties (SaaS), when the answers plan to."""
    policy = requirements.license
    if not policy.saas_hosting:
        return
    for link, record in resolve_lineage(candidate, context.catalog).terms():
        via, who = _via(candidate, link), _model_evidence(candidate, link)
        if record.saas_hosting == "no":
            if policy.commercial_use and record.commercial_use == "no":
                continue  # LIC001 already fails it, on the clause that decides
            if not policy.commercial_use and record.permitted_use == "non-commercial":
                continue  # a non-commercial service is within a non-commercial licence
            text, evidence = cite(record, "hosting", "commercial_use")
            yield Finding(
                severity="fail",
                message=f"{via}{record.name} does not allow offering the model as a service: {text}",
                evidence={**evidence, **who},
                remediation="ask the licensor for a licence that covers hosting, or choose another model",
            )
        elif record.saas_hosting == "conditional":
            text, evidence = cite(record, "hosting", "commercial_use")
            yield Finding(
                severity="warn",
                message=f"{via}{record.name} puts a condition on hosting the model for others: {text}",
                evidence={**evidence, **who},
                remediation="settle the condition with the licensor before launch",
            )
        elif record.flow_down:
            text, evidence = cite(record, "flow_down")
            yield Finding(
                severity="info",
                message=f"{via}to host it for others under the {record.name}, your terms of service must carry "
                f"the licence's use restrictions: {text}",
                evidence={**evidence, **who},
                remediation="copy the licence's use restrictions into your terms of service",
            )


def _region_matches(residency: str, exclusions: Sequence[str]) -> bool:
    wanted = residency.strip().upper()
    excluded = {e.upper() for e in exclusions}
    return wanted in excluded or ("EU" in excluded and wanted in EU_MEMBER_STATES)


def regional_exclusions(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    """LIC004: a licence that grants no rights in the region the answers keep data in."""
    residency = requirements.privacy.data_residency
    if not residency:
        return
    lineage = resolve_lineage(candidate, context.catalog)
    for link, record in lineage.terms():
        if not record.regional_exclusions or not _region_matches(residency, record.regional_exclusions):
            continue
        via, who = _via(candidate, link), _model_evidence(candidate, link)
        text, evidence = cite(record, "regional")
        evidence = {**evidence, **who, "data_residency": residency, "modalities": lineage.modalities}
        if record.regional_exclusion_scope == "multimodal_models":
            if lineage.modalities is not None and set(lineage.modalities) <= {"text"}:
                yield Finding(
                    severity="pass",
                    message=f"{via}{record.name} excludes {', '.join(record.regional_exclusions)} for its "
                    f"multimodal models only; {candidate.id} is text-only",
                    evidence=evidence,
                )
                continue
            scope = (
                "this model is multimodal, and "
                if lineage.modalities is not None
                else "the catalog does not say whether this model is multimodal; if it is, "
            )
        else:
            scope = ""
        yield Finding(
            severity="warn",
            message=f"{via}data must stay in {residency}: {scope}{record.name} grants no licence to a company "
            f"whose principal place of business is there (the answers give data residency, not where the "
            f"company is based): {text}",
            evidence=evidence,
            remediation="if the licensee is established in the excluded region, choose another model; end users "
            "of a product built elsewhere are not restricted",
        )


def attribution_duties(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    """LIC005: the notices and names the licence prescribes, in its own words."""
    for link, record in resolve_lineage(candidate, context.catalog).terms():
        naming = "naming" in record.clauses
        flow_down = record.flow_down and not requirements.license.saas_hosting  # LIC003 says it when hosting
        if not record.required_notices and not naming and not flow_down:
            continue
        parts = []
        if record.required_notices:
            words = "; ".join(f"“{n}”" for n in record.required_notices)
            parts.append(f"if you distribute it or offer a product built on it, ship these words: {words}")
        evidence: dict[str, Any] = {"notices": list(record.required_notices), **_model_evidence(candidate, link)}
        if naming:
            text, naming_evidence = cite(record, "naming")
            parts.append(f"a fine-tune you publish must follow the naming rule: {text}")
            evidence["naming"] = naming_evidence
        if flow_down:
            text, flow_evidence = cite(record, "flow_down")
            parts.append(f"whoever you give the model to must be bound by its use restrictions: {text}")
            evidence["flow_down"] = flow_evidence
        source, source_evidence = cite(record, "attribution")
        evidence.update({"license": record.id, "link": source_evidence["link"], "attribution": source_evidence})
        yield Finding(
            severity="info",
            message=f"{_via(candidate, link)}{record.name} duties: " + "; ".join(parts) + f". Clause: {source}",
            evidence=evidence,
        )


def acceptable_use(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    """LIC006: acceptable-use clauses that name what the answers' use case does."""
    use_case = requirements.use_case
    for link, record in resolve_lineage(candidate, context.catalog).terms():
        for restriction in record.use_restrictions:
            if use_case not in restriction.use_cases:
                continue
            clause = restriction.clause
            link_url = clause.link or record.link
            words = quoted(clause.text, clause.quote)
            where = f"{record.name} {clause.section}" if clause.section else record.name
            yield Finding(
                severity="warn" if restriction.severity == "warn" else "info",
                message=f"{_via(candidate, link)}use case {use_case}: {restriction.why}. {where} forbids: "
                f"{words} ({link_url})",
                evidence={
                    "license": record.id,
                    "use_case": use_case,
                    "section": clause.section,
                    "text": clause.text,
                    "quote": clause.quote,
                    "link": link_url,
                    "source": record.source,
                    **_model_evidence(candidate, link),
                },
                remediation="design the product so it stays outside the clause (a person takes the decisions, "
                "answers are labelled as machine-generated), and put the clause in your terms of use",
            )


def gated_repository(candidate: Candidate, requirements: Requirements) -> Iterator[Finding]:
    """LIC007: a gated Hugging Face repository needs the terms accepted before any download."""
    if not candidate.gated:
        return
    page = f"https://huggingface.co/{candidate.id}"
    yield Finding(
        severity="info",
        message=f"the Hugging Face repository {candidate.id} is gated: log in and accept its licence terms on "
        f"{page} before downloading; downloads then need an access token (HF_TOKEN)",
        evidence={"model": candidate.id, "model_page": page, "license": candidate.license},
        remediation="accept the terms on the model page with the account whose token the deployment uses",
    )


def imposes_terms(record: LicenseRecord) -> bool:
    """Whether a licence adds duties beyond a permissive licence (so a relabelled fine-tune can hide them)."""
    return bool(
        record.commercial_use != "yes"
        or record.permitted_use != "any"
        or record.saas_hosting != "yes"
        or record.monthly_active_user_cap is not None
        or record.monthly_output_token_cap is not None
        or record.flow_down
        or record.regional_exclusions
        or record.required_notices
        or record.derivative_naming
        or record.output_training_restriction
        or record.use_restrictions
    )


def lineage_consistent(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    """LIC008: a fine-tune's label must not hide its base model's terms."""
    links = resolve_lineage(candidate, context.catalog).links
    by_model = {link.model: link for link in links}
    for index in range(1, len(links)):
        base = links[index]
        derived = by_model.get(base.derived or "", links[index - 1])
        if not base.binding:
            continue
        evidence: dict[str, Any] = {
            "model": derived.model,
            "model_license": derived.declared,
            "base_model": base.model,
            "base_license": base.declared,
        }
        if base.relation:
            evidence["relation"] = base.relation
        if not base.identified or base.record is None:
            status = f"declared as {base.label}" if base.declared or base.license_name else "not recorded"
            if not base.on_hub:
                status = "unknown (the Hub has no such repository)"
            yield Finding(
                severity="warn",
                message=f"{derived.model} is derived from {base.model}, whose licence is {status} in the "
                f"catalog: a fine-tune carries its base model's terms, so read that licence too",
                evidence=evidence,
                remediation=f"read the licence of {base.model} (https://huggingface.co/{base.model})",
            )
            continue
        if derived.identified and derived.record is not None and derived.record.id == base.record.id:
            continue
        if not imposes_terms(base.record):
            continue
        label = derived.record.name if derived.identified and derived.record else derived.label
        text, clause_evidence = cite(
            base.record,
            "commercial_use" if base.record.commercial_use == "no" else "naming",
            "attribution",
            "flow_down",
            "commercial_use",
        )
        yield Finding(
            severity="warn",
            message=f"{derived.model} is labelled {derived.declared or 'without a licence'} ({label}), but it is a "
            f"fine-tune of {base.model}, licensed {base.record.id} ({base.record.name}). A fine-tune carries its "
            f"base model's duties, so the {base.record.name} terms apply too: {text}",
            evidence={**evidence, "base_clause": clause_evidence},
            remediation=f"treat {candidate.id} as bound by both licences; the other licence checks already "
            f"apply {base.record.id}",
        )


@hookimpl
def advisor_register_checks(register: Callable[[Check], None]) -> None:
    checks: list[tuple[str, str, Callable[..., Iterator[Finding]]]] = [
        ("LIC001", "Licence allows the planned (commercial) use", commercial_use_allowed),
        ("LIC002", "User and usage caps of the licence", usage_caps),
        ("LIC003", "Licence allows hosting the model for others", hosting_allowed),
        ("LIC004", "No regional exclusion where the data stays", regional_exclusions),
        ("LIC005", "Attribution, notice and naming duties to ship", attribution_duties),
        ("LIC006", "Acceptable-use clauses that name the use case", acceptable_use),
        ("LIC007", "Gated repository: accept the terms first", gated_repository),
        ("LIC008", "Fine-tune licence agrees with its base model", lineage_consistent),
    ]
    for check_id, summary, run in checks:
        register(Check(id=check_id, category="license", summary=summary, run=run, kinds=("open_source",)))
