"""Conformance plans: traceable checks against a platform implementation (server side) and,
through the simulator, against a vendor system (client side)."""
