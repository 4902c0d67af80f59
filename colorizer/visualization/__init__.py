from .image_grid import header_row, make_grid, save_image, tensor_to_image

__all__ = ['header_row', 'make_grid', 'save_image', 'tensor_to_image']
