"""Files a user hands in, read as untrusted input at the edge.

Modules:

- ``structured``: YAML/JSON input (answers files, catalog overlays) and pydantic validation errors
  turned into one line naming the file and the field.
- ``gguf``: a GGUF file's header and tensor table, read without loading weights (exact sizes).
- ``output``: the other direction, every file the CLI writes for the user (``--out``, ``--plot``,
  answers files): regular files only, atomically, no temp file left behind.
"""
