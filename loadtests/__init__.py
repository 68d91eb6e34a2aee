"""Locust scenarios of the morning clock-in peak (to come)."""
