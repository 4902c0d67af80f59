"""The paper's XDoG parameters (§4.1), shared by the data pipeline and the model.

The pipeline's ``XDoG`` transform (``colorizer/datasets/transforms/xdog.py``) draws the training
sketches with them and the model's ``XDoGLineArt`` (``colorizer/models/generators/line_art.py``)
draws a reference's line art the same way; both read them from here so that neither the data
layer nor the model layer imports the other.
"""

__all__ = ['PHI', 'K', 'P', 'EPSILON', 'SIGMAS']

# PHI is 1e9, written as a float literal: `10^9` is XOR in Python and equals 3, a bug in public
# copies of this code that turns the step into a soft grey ramp.
PHI = 1e9
#: Ratio of the large to the small Gaussian.
K = 4.5
#: Sharpening strength.
P = 19.0
#: Threshold of the sharpened image.
EPSILON = 0.01
#: σ of the small Gaussian, one drawn per sample (line thickness).
SIGMAS = (0.3, 0.4, 0.5)
