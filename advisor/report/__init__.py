"""Rendering a Plan: JSON (the contract), Markdown (terminal and files), HTML (docs/reports.md).

Modules: ``json_report`` (the JSON contract), ``view`` (what the human reports show: table rows, named
models, appendix notes, settings keys in words), ``markdown``, ``html``, ``break_even_chart`` and
``quality_cost_chart`` (the inline SVG charts of the HTML page).
"""
