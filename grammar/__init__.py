"""lark grammars (``*.lark``) and the small modules that parse with them."""
