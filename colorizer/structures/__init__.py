from .colorization_data_sample import ColorizationDataSample
from .token_grid import pool_labels, token_grid

__all__ = ['ColorizationDataSample', 'pool_labels', 'token_grid']
