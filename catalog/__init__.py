"""The built-in catalog data (installed as ``advisor_catalog``): one YAML file of records per kind, and the
tables (constants, policies, recipes, evaluation data, planning defaults) that advisor.catalog.tables reads."""
