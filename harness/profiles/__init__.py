"""Token profiles: a team's authorization config, its principals' real claims and their intent, checked
against a live server (harness.profiles.check) with fix hints from the model (harness.profiles.hints)."""
