"""The simulator's half of the model: a plain discrete-event simulation."""
