"""Files a user hands in, read as untrusted input at the edge.

Modules:

- ``structured``: YAML/JSON input (answers files, catalog overlays) and pydantic validation errors
  turned into one line naming the file and the field.
- ``gguf``: a GGUF file's header and tensor table, read without loading weights (exact sizes).
"""
