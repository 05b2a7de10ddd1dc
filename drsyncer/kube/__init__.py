"""Kubernetes access: building clients from configuration, requests with retries, discovery."""
