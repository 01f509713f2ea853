"""Probes: one module per surface. A probe reports what happened (outcome, status, message, when);
it never decides whether that was right."""
