"""The metrics REST API (`/api/metrics/`): thin views over metrics.selectors, behind the access
policy of accounts. Above both, so that metrics never imports accounts (docs/architecture.md)."""
