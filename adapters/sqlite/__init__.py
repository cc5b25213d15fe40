"""The SQLite stores (the default): one shared connection per worker."""
