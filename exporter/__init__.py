"""Export stage: runs contrastive models over inter-modal pairs and writes compact data files."""

__version__ = "0.1.0"
