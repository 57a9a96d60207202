"""Core op definitions. Every module here exports ``SPECS``, a list of ``OpSpec``.

The built-in plugin (:mod:`tideflow._builtin.plugin`) collects them through the same
``tideflow_ops`` hook that third-party plugins use.
"""
