"""Image and speech providers."""
