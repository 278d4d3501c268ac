"""Long-running services on this machine: the distributed Airflow stack (docs/deployment.md)."""
