from graphae.cli import entry

entry()
