"""Readers shared by tasks: tabular/JSON files through ``datasets``' packaged builders, with clear errors."""
