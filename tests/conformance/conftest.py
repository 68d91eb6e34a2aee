"""What the conformance tests share: a platform URL that is down."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture
def dead_url() -> str:
    """An open.api URL on 127.0.0.1 where nobody listens (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/open.api"
