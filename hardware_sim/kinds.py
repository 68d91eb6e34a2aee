"""Device kinds a site file may name, mapped to the class that implements each (imported lazily,
so a fleet of ISAPI gates does not load the ID-card reader)."""

from __future__ import annotations

import importlib
from typing import Any

# kind name in site.yaml → "module:Class"; each class takes (device_id, **options) plus the
# Device keyword arguments (journal, clock, direction, buffer_limit, batch_size, retry_delay).
KINDS: dict[str, str] = {
    "isapi": "hardware_sim.isapi.device:IsapiDevice",
    "iclock": "hardware_sim.iclock:IclockDevice",
    "callback": "hardware_sim.callback:CallbackDevice",
    "idreader": "hardware_sim.idreader.reader:VirtualReader",
}


def resolve(kind: str) -> Any:
    try:
        target = KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown device kind {kind!r}; known: {', '.join(sorted(KINDS))}") from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
