"""The one map from a site-file device kind to the class that implements it. Classes are imported
on first use, so a fleet of ISAPI gates does not load the ID-card reader.

Every class builds itself from a site entry (:meth:`hardware_sim.device.Device.from_site`), so
adding a protocol is one line here and a ``from_site`` in its module."""

from __future__ import annotations

import importlib

from hardware_sim.device import Device

# kind name in site.yaml → "module:Class"
KINDS: dict[str, str] = {
    "isapi": "hardware_sim.isapi.device:IsapiDevice",
    "iclock": "hardware_sim.iclock:IclockDevice",
    "callback": "hardware_sim.callback:CallbackDevice",
    "idreader": "hardware_sim.idreader.reader:VirtualReader",
}


def resolve(kind: str) -> type[Device]:
    """The class of ``kind``: ValueError for a kind nobody registered, ImportError when its module
    is missing, TypeError when the name there is not a device class."""
    try:
        target = KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown device kind {kind!r}; known: {', '.join(sorted(KINDS))}") from None
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name, None)
    if cls is None:
        raise ImportError(f"{module} has no {name}")
    if not (isinstance(cls, type) and issubclass(cls, Device)):
        raise TypeError(f"device kind {kind!r} resolves to {cls!r}, which is not a hardware_sim Device")
    return cls
