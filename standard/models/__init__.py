"""Payload models of every ``open.api`` method: requests and query-response rows."""
