"""Run-time objects: backends bound to kernels, and flat plans of kernel calls."""
