"""Alert delivery to the operator."""
