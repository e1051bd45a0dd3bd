"""gensynth.cli: the Typer app; nothing but argument handling and printing."""
