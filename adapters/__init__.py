"""Everything that talks to the outside world: upstream models, state stores, audit stores, alerts."""
