"""Output folders both stages write (the export's data folder, the built site) and how they stay safe.

`claimed_output()` is the one way in: it refuses folders the tool did not make,
takes a lock, clears staging left by dead runs, stages the new output beside the
old one and swaps it in, translating a full disk into one clear line.
"""

from outfolder.errors import DiskFullError, OutputFolderError
from outfolder.staging import claimed_output, staged_folder

__all__ = ["DiskFullError", "OutputFolderError", "claimed_output", "staged_folder"]
