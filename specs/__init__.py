"""Properties (built in for now; issue C moves them into the spec language)."""
