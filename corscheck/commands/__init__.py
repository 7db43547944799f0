"""The commands, one module each. `corscheck.cli` wires them into the typer app; `options` holds the
option definitions more than one command shares, `edge` the exit codes, errors and output plumbing
every command ends in."""
