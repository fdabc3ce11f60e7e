"""kycvault: a self-hosted vault for KYC/KYB documents."""

__version__ = "0.1.0"
