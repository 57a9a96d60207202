"""The core's own plugin: its ops, the NumPy reference backend and the LR schedules."""
