from dataos_defs.cli.entry import run

run()
