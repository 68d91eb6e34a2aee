"""The ISAPI resources of the terminal, one module per group, each handler routed where it is
defined (``@ROUTES.handles``). Importing this package fills :data:`hardware_sim.isapi.http.ROUTES`."""

from hardware_sim.isapi.resources import capabilities, cards, events, faces, hosts, persons, system

LOADED = (capabilities, cards, events, faces, hosts, persons, system)
