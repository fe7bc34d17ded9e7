"""``tlzoo export``: a trained encoder-task folder to an ONNX folder (fp32 or dynamic int8) that
``tlzoo.load``, ``predict`` and ``evaluate`` run on onnxruntime. Needs the ``tlzoo[export]`` extra.

:mod:`tlzoo.onnx_export.graph` makes the files, :mod:`tlzoo.onnx_export.run` checks and writes the folder.
"""
