from .colorization_data_preprocessor import ColorizationDataPreprocessor

__all__ = ['ColorizationDataPreprocessor']
