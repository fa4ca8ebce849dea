"""The built-in models, one module each; :mod:`graphae.registry` lists them."""
