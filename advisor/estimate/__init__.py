"""Pure estimators (memory, speed, cost, quality): public API for plugins.

Every function here is pure: numbers in, numbers out, no I/O except loading the packaged
constants once. Plugins call these and turn the numbers into findings.
"""
