"""Renderers: separate consumers of the plan, drift and apply data (text for terminals,
markdown for pull requests, JSON for machines); what they share is in `render.common`."""
