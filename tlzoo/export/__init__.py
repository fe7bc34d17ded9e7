"""``tlzoo export``: a trained encoder-task folder to an ONNX folder (fp32 or dynamic int8) that
``tlzoo.load``, ``predict`` and ``evaluate`` run on onnxruntime. Needs the ``tlzoo[export]`` extra.

:mod:`tlzoo.export.graph` makes the files, :mod:`tlzoo.export.run` checks and writes the folder.
"""
