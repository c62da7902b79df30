"""Properties written in the spec language: the built-ins (``builtin.zds``) and the registry."""
