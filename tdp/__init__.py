"""TDP, the Threat Discovery & Prevention workbench: settings, URLs and shared parts."""
