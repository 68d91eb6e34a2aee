"""A generic HTTP-callback face terminal run from a template: ``template`` (the schema and loader),
``engine`` (rendering, pure), ``local_api`` (the device-side API), ``device`` (the terminal).
See ``docs/devices/callback.md``."""

from hardware_sim.callback.device import CallbackDevice
from hardware_sim.callback.engine import dig, render
from hardware_sim.callback.template import BUILTIN_TEMPLATES, Template, TemplateError, load_template

__all__ = ["BUILTIN_TEMPLATES", "CallbackDevice", "Template", "TemplateError", "dig", "load_template", "render"]
