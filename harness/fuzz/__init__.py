"""Differential fuzzing: generated inputs a caller, an identity provider or an operator controls, asked of
the model and of two judges: the release's own functions (the fast oracle, harness.oracle) at a high
rate, then the live server, which stays the judge (every disagreement the oracle shows is replayed live).

classes.py        the input classes, each with the server setting or endpoint it drives
strategies/       hypothesis strategies per class (reusable by users: generation only, nothing is sent)
examples.py       one example as data (class, input, calls): what a regression case under fixtures/fuzz/ holds
calls.py          the sample of calls every example is decided on
exercise.py       an example's token and calls against a live server, and the comparison with the model
exercised.py      one example's runs against a server (what was observed and expected per token)
http_exercise.py  the http-headers class against a live server (header lines byte for byte)
http_text.py      the http-headers class's inputs as bytes: header lines, the request, a value read
servers.py        the servers the classes need: the default one, one per config value, ones with a JWKS of their own
runner.py         hypothesis within a budget (CI: derandomized, fixed counts; long runs: minutes), two phases
rotation.py       the key-rotation state machine (live)
twin.py           the model and the release's functions asked the same question, answered item by item
twin_classes.py   one function per class: an example as that question (the live classes' inputs unchanged)
fast_rotation.py  rotation steps over refresh rounds of the release's own key provider
fast_check.py     the fast oracle's property, its report, and the live server as the judge of a disagreement
fast_phase.py     a class's oracle phase (batches of examples, its budget, its figures)
oracles.py        the release's oracle program for the server a run drives (built or found once)
guard.py          the model's time bound: an exception or a hang is a ModelDefect
idp_keys.py       keys and certificates of the jwks-idp class; idp_text.py renders its key sets
sizes_text.py     the sizes class's inputs expanded into token-bytes or jwks inputs
"""
