from dataos_defs.cli.main import run

run()
