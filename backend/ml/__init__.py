"""Machine learning: the trainer (TensorFlow, in a job's own process) and NumPy serving.

Nothing importable from here pulls in TensorFlow at import time: `trainer` imports Keras inside
its training function only, so the web process and the solver stay free of it.
"""
