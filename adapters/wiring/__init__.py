"""Builds each service from the deployment config: the composition root's parts."""
