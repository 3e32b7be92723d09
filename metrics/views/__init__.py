"""Metrics pages, by section: detection quality, the other sections, and weekly reports."""
