"""tradecover — open-source trade credit insurance platform (assurance-crédit)."""

__version__ = "0.1.0"
