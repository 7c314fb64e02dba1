"""The built-in backends, one folder per ecosystem (installed as ``phonelm_export.backends``).

Each folder has the same files: ``backend.py`` (the ``BACKEND`` object and its facts),
``recipes.py`` (its recipe vocabulary and schema), ``export.py``, ``runner.py``, ``register.py``
(PhoneLM's architecture as that ecosystem knows it) and ``cli.py`` (its commands). They are
found through the ``phonelm_export.backends`` entry-point group like any out-of-tree backend
(:mod:`phonelm_export.registry`; README.md here walks through adding one).
"""
