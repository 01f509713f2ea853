"""Security properties and advisories: statements that hold on every release, never from the model."""
