"""The pipeline every reply goes through, its request state, renderers and the audit record stage."""
