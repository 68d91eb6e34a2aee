"""The client conformance plan: certify a vendor's real-name system end to end (docs/conformance.md)."""
