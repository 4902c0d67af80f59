"""Datasets (registered in ``colorizer.registry.DATASETS``) and their transforms."""
from .base_colorization_dataset import BaseColorizationDataset
from .colorization_dataset import ColorizationDataset
from .image_folder import scan_image_folder
from .line_art_dataset import LineArtDataset
from .image_io import (IMAGE_EXTENSIONS, ImageReadError, decode_color_image, read_color_image,
                       read_gray_image)
from .pairing import derangement
from .skimage_photo_dataset import SKIMAGE_PHOTOS, SkimagePhotoDataset
from .synthetic_toon_dataset import SyntheticToonDataset
from .toon_drawing import REGIONS
from .transforms import *  # noqa: F401,F403  (registers the transforms)

__all__ = [
    'BaseColorizationDataset', 'ColorizationDataset', 'SyntheticToonDataset', 'LineArtDataset',
    'SkimagePhotoDataset', 'ImageReadError', 'read_color_image', 'read_gray_image',
    'decode_color_image', 'IMAGE_EXTENSIONS', 'scan_image_folder', 'derangement', 'REGIONS',
    'SKIMAGE_PHOTOS'
]
