"""The ``candor`` command: its entry, the verbs' registry and the operator verbs."""
