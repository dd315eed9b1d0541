"""studiolab: clean, labelled garment images from fashion shops."""

__version__ = "0.1.0"
