"""The built-in catalog data (installed as ``advisor_catalog``): YAML files, one per kind."""
