"""Build-time machinery: symbolic blobs, the op graph and the build context."""
