"""A hospital's own metric package, as DASHBOARD_EXTRA_METRICS names one (tests only)."""
