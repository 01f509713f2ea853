"""Differential fuzzing: generated inputs a caller or an identity provider controls, sent to a live
server, and every decision compared with the model's.

classes.py   the input classes, each with the server setting or endpoint it drives
strategies/  hypothesis strategies per class (reusable by users: generation only, nothing is sent)
examples.py  one example as data (class, input, calls): what a regression case under fixtures/fuzz/ holds
calls.py     the sample of calls every example is decided on
exercise.py  an example's token and calls against a server, and the comparison with the model
servers.py   the servers the classes need: the default one, one per regex, one with a JWKS of its own
runner.py    hypothesis within a budget (CI: derandomized, a fixed count; long runs: minutes)
rotation.py  the key-rotation state machine
"""
