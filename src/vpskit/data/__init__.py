"""A prepared Cityscapes-VPS split as training data, from a folder or a zip, for any framework.

- :class:`VideoPanopticDataset` — map-style, picklable: frames, clips, reference frames, all
  frames for inference; items are dicts of numpy arrays.
- :func:`records` — detectron2-style dataset dicts; :func:`register_detectron2` registers them
  (and their metadata) when detectron2 is installed.
- :func:`to_tensors`, :func:`collate` — items and batches as torch tensors (the ``torch`` extra).

Nothing here imports torch or detectron2 until it is asked to.
"""

from __future__ import annotations

from .dataset import VideoPanopticDataset
from .detectron2 import metadata, records, register_detectron2
from .tensors import collate, to_tensors

__all__ = ["VideoPanopticDataset", "collate", "metadata", "records", "register_detectron2", "to_tensors"]
