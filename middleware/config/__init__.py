"""The deployment config (``candor.yaml``): its model, checks and the YAML it is written in."""
