"""`temporal-authz conformance`: the packaged suites run with pytest, from a checkout or an installed wheel."""
