"""Hypothesis strategies for everything a caller or an identity provider controls. Generation only:
each draws plain data (JSON-able where it becomes an example's input); nothing here talks to a server.

claims.py       token payloads (harness.strategies re-exports the claim payload strategies)
names.py        namespace and role strings: case, Unicode, separators
token_bytes.py  a token's bytes: header/payload JSON text, segments, base64, signature
jwks.py         JWKS documents, as recipes over the fuzzer's key slots
regexes.py      permissionsRegex patterns (RE2 and Python-only constructs) and strings against them
"""
