from .colorization_data_sample import ColorizationDataSample

__all__ = ['ColorizationDataSample']
