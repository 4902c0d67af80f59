"""Evaluation: metrics (FID, SSIM, PSNR, RegionColorError) and the paper's published numbers."""
from .metrics import FID, PSNR, SSIM, RegionColorError
from .paper_results import PAPER_RESULTS, paper_result

__all__ = ['FID', 'PSNR', 'SSIM', 'RegionColorError', 'PAPER_RESULTS', 'paper_result']
