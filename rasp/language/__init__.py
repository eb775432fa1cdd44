"""The language front end: Lark grammar -> typed AST -> s-op graph (the interpreter)."""
