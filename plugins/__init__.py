"""Built-in plugins of model-advisor (installed as ``advisor_plugins``).

Each module is an ordinary plugin: it imports only the public API (``advisor`` and
``advisor.estimate``) and can be disabled with ``ADVISOR_DISABLE_PLUGINS`` like any other.
"""
