"""Unit import/export API."""


def register(router):
    """Register the import/export endpoints on the API router."""
