"""Metrics: detection quality, intel, operations and automation numbers for leads."""
