"""Candor's benchmark harness: a fast stub upstream, a load generator and one command (`python -m bench`)
that measures what the proxy adds over calling the same upstream directly."""
