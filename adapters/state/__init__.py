"""Session state stores (memory, Redis) and the change bus between replicas."""
