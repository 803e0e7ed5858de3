"""activation ops."""
__all__ = []
