"""Post-processing of colourisations (region fill)."""
from .region_fill import LINE, RegionFill, segment_regions

__all__ = ['LINE', 'RegionFill', 'segment_regions']
