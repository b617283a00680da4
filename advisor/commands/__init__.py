"""Sub-commands of ``advisor`` that live in their own modules, loaded only when invoked.

Each module defines one click command (or group) named like the module's ``COMMAND`` entry in
``advisor.cli.LAZY_COMMANDS``; keeping them apart keeps ``advisor --help`` cheap and lets each
capability (fit, cost, smoke, ask, quality, licences, hub) grow in its own file.
"""
