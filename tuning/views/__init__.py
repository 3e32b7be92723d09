"""Tuning pages: suggestions (`suggestions`), missed detections (`missed`), back-tests
(`backtests`)."""
