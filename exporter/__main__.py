import sys

from exporter.cli import run_command_line

sys.exit(run_command_line())
