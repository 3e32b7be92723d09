"""Indicator handling shared by the whole workbench: canonical forms, detection, extraction."""
