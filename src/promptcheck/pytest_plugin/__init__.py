"""The pytest adapter: the only package that imports pytest (besides commands that run it)."""
