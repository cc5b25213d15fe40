"""The PostgreSQL stores: one shared asyncpg pool per worker."""
