"""The value types every other part speaks: no I/O, no engine, no plugins.

Modules:

- ``requirements``: :class:`Requirements`, the answers-file contract (docs/design.md §5), and its loader.
- ``candidate``: :class:`Candidate`, one way to get an LLM (an API, an open model in one deployment
  variant, or building one).
- ``checks``: :class:`Check` and :class:`Finding`, the unit every rule plugin contributes; severities.
- ``plan``: the results: :class:`Assessment`, strategy votes and decision, :class:`Deployment`, :class:`Plan`.
- ``context``: :class:`AdvisorContext`, the read-only value every hook receives.
- ``extensions``: the other things plugins register: questions, catalog sources, backends.
- ``metrics``: typed views of the metrics plugins publish for each other (the JSON keys stay the contract).
- ``hardware_spec``: the one syntax for "N devices of a kind" (``2xrtx-4090``, ``rtx-4090:2``, ``rtx-4090 x2``).
"""
