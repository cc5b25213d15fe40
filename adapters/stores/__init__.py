"""What the stores of both dialects share: the tables, the URL choice, small registries."""
