"""Template matching by cross-correlation: find a face in a photo, a clip in a song.

The essay's probabilistic reading of cross-correlation: sliding a small signal over a
large one and scoring every placement filters the large signal *for* the small one.
This lens scores every placement of a template with the measures users know from
scikit-image and OpenCV, on 1-D, 2-D, 3-D (any N-d) data:

* :func:`match_template` - score maps: zero-normalized cross-correlation (Pearson's r,
  as ``skimage.feature.match_template`` and ``cv2.TM_CCOEFF_NORMED``), plain correlation,
  sum of squared differences and their normalized forms, with a template mask (boolean
  or OpenCV-style weights), an image mask (NaN pixels are excluded automatically) and
  a restricted lag range;
* :func:`find_peaks` - the n best non-overlapping matches, refined to sub-sample
  precision;
* :func:`locate` - the offset in seconds of an audio clip in a recording, with a
  confidence;
* :class:`Template` - a template prepared once (zero-mean copy, norms, and through
  :class:`convlens.Convolver` plans its cached spectrum) and searched in many inputs.

Modules: ``_template`` (the prepared template and the search), ``_plain`` /
``_masked`` (scores of one strip), ``_scores`` (every method from a window's sums),
``_window_stats`` (running sums and their round-off), ``_refine`` (local
recomputation of low-contrast windows), ``_strips`` (strips: the engine's
overlap-save blocks, on threads), ``_region`` / ``_checks`` (what a search
reads, argument checks), ``peaks`` and ``audio``.  ``docs/matching.md``
describes the accuracy and the OpenCV / scikit-image equivalences.
"""

from __future__ import annotations

from ._api import match_template
from ._scores import METHODS
from ._template import Template
from .audio import Location, locate
from .peaks import Peaks, find_peaks

__all__ = ["METHODS", "Location", "Peaks", "Template", "find_peaks", "locate", "match_template"]

# Pickles (a Template shipped to Dask workers or saved) name the public package, not the
# private module a name lives in, so they load after the modules are reorganized.
for _obj in (Template, match_template):
    _obj.__module__ = __name__
del _obj
