"""The checker's half of the model: Z3 constraints and the rollout state graph."""
