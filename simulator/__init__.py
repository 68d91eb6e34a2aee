"""The mock national platform and the reference vendor system (issue 3; not built yet)."""
