"""The national construction-worker platform interface standard as code.

Pure and synchronous: signature, AES field encryption, the envelope, validators, the payload
models of every ``open.api`` method and the signature explainer. It imports no other package of
this project (enforced by import-linter); it reads the code-table data shipped in ``fixtures/data``.
"""
