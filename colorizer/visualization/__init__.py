from .image_grid import make_grid, save_image, tensor_to_image

__all__ = ['make_grid', 'save_image', 'tensor_to_image']
