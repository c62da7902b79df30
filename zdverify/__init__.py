"""zdverify: prove that a Kubernetes rolling update drops no requests, or show how it does."""
from zdverify.api import verify

__all__ = ["verify"]
__version__ = "0.1.0"
