"""Everything about the server under test: the binary, its config, and the backends that run it."""
